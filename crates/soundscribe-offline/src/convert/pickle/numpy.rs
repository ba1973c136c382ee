//! NumPy scalars in pickles, decoded as plain data: `numpy.core.multiarray.scalar(dtype,
//! bytes)` with `numpy.dtype(code, False, True)` and `_codecs.encode(str, "latin1")`.
//!
//! Checkpoints saved next to numpy values (aisfx's `(state_dict, ds_dict)` holds numpy
//! int64 class counts) need these three globals. Each is interpreted here as data — the
//! dtype code and the raw little-endian bytes become an int, float or bool — so no code
//! from the file runs. Reference: numpy `_core/multiarray.py` (`scalar`), `dtype.__reduce__`.

use crate::convert::pickle::value::PickleValue;

/// Whether `module.name` is one of the numpy-scalar globals handled here.
pub(crate) fn is_numpy_global(module: &str, name: &str) -> bool {
    matches!(
        (module, name),
        ("numpy.core.multiarray" | "numpy._core.multiarray", "scalar")
            | ("numpy", "dtype")
            | ("_codecs", "encode")
    )
}

/// REDUCE of a numpy-scalar global, `None` if `func` is not one.
pub(crate) fn reduce(func: &str, args: &[PickleValue]) -> Option<Result<PickleValue, String>> {
    Some(match func {
        "_codecs.encode" => match args {
            [PickleValue::Str(s), PickleValue::Str(enc)] if enc == "latin1" || enc == "latin-1" => {
                s.chars()
                    .map(|c| u8::try_from(u32::from(c)).map_err(|_| "non-latin1 bytes".to_owned()))
                    .collect::<Result<Vec<u8>, _>>()
                    .map(PickleValue::Bytes)
            }
            _ => Err("_codecs.encode arguments are not (str, \"latin1\")".into()),
        },
        "numpy.dtype" => match args.first() {
            Some(PickleValue::Str(code)) => Ok(PickleValue::NumpyDtype(code.clone())),
            _ => Err("numpy.dtype without a type code".into()),
        },
        "numpy.core.multiarray.scalar" | "numpy._core.multiarray.scalar" => match args {
            [PickleValue::NumpyDtype(code), PickleValue::Bytes(b)] => scalar(code, b),
            _ => Err("numpy scalar arguments are not (dtype, bytes)".into()),
        },
        _ => return None,
    })
}

/// BUILD on a dtype: its state tuple `(version, byteorder, ...)`; only little-endian or
/// not-applicable byte orders are accepted.
pub(crate) fn build_dtype(state: &PickleValue) -> Result<(), String> {
    match state {
        PickleValue::List(items) => match items.get(1) {
            Some(PickleValue::Str(order)) if order == "<" || order == "|" || order == "=" => Ok(()),
            Some(PickleValue::Str(order)) => {
                Err(format!("numpy byte order {order:?} is not supported"))
            }
            _ => Err("numpy dtype state without a byte order".into()),
        },
        _ => Err("numpy dtype state is not a tuple".into()),
    }
}

fn scalar(code: &str, b: &[u8]) -> Result<PickleValue, String> {
    fn arr<const N: usize>(b: &[u8]) -> Result<[u8; N], String> {
        b.try_into()
            .map_err(|_| format!("numpy scalar has {} bytes, expected {N}", b.len()))
    }
    let code = code.trim_start_matches(['<', '|', '=']);
    Ok(match code {
        "i1" => PickleValue::Int(i8::from_le_bytes(arr(b)?).into()),
        "i2" => PickleValue::Int(i16::from_le_bytes(arr(b)?).into()),
        "i4" => PickleValue::Int(i32::from_le_bytes(arr(b)?).into()),
        "i8" => PickleValue::Int(i64::from_le_bytes(arr(b)?)),
        "u1" => PickleValue::Int(u8::from_le_bytes(arr(b)?).into()),
        "u2" => PickleValue::Int(u16::from_le_bytes(arr(b)?).into()),
        "u4" => PickleValue::Int(u32::from_le_bytes(arr(b)?).into()),
        "u8" => i64::try_from(u64::from_le_bytes(arr(b)?))
            .map(PickleValue::Int)
            .map_err(|_| "numpy uint64 scalar exceeds i64".to_owned())?,
        "f4" => PickleValue::Float(f32::from_le_bytes(arr(b)?).into()),
        "f8" => PickleValue::Float(f64::from_le_bytes(arr(b)?)),
        "b1" => PickleValue::Bool(arr::<1>(b)?[0] != 0),
        other => return Err(format!("numpy scalar of dtype {other:?} is not supported")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int64_scalars_decode_from_latin1_bytes() {
        let bytes = reduce(
            "_codecs.encode",
            &[
                PickleValue::Str("\u{4e}\0\0\0\0\0\0\0".into()),
                PickleValue::Str("latin1".into()),
            ],
        )
        .unwrap()
        .unwrap();
        let dtype = reduce("numpy.dtype", &[PickleValue::Str("i8".into())])
            .unwrap()
            .unwrap();
        let v = reduce("numpy.core.multiarray.scalar", &[dtype, bytes])
            .unwrap()
            .unwrap();
        assert!(matches!(v, PickleValue::Int(78)), "{v:?}");
    }

    #[test]
    fn wrong_widths_and_big_endian_are_refused() {
        let err = scalar("i8", &[1, 2]).unwrap_err();
        assert!(err.contains("expected 8"), "{err}");
        let state = PickleValue::List(vec![PickleValue::Int(3), PickleValue::Str(">".into())]);
        assert!(build_dtype(&state).is_err());
        assert!(reduce("builtins.eval", &[]).is_none());
    }
}
