//! A pickle stack machine restricted to plain data and torch tensor storages.
//!
//! It understands dict, list, tuple, str, int, float, bool, None, `collections.OrderedDict`
//! and the tensor-rebuilding calls `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter`
//! with `torch.*Storage` persistent ids. Any other global is refused, so no code from the
//! file ever runs. Opcode reference: Python's `Lib/pickletools.py`.

mod numpy;
pub mod value;

use std::collections::HashMap;

use tch::{Kind, Tensor};

use value::{PickleValue, StorageRef, TensorHandle};

pub(crate) fn storage_kind(name: &str) -> Option<(Kind, usize)> {
    Some(match name {
        "FloatStorage" => (Kind::Float, 4),
        "DoubleStorage" => (Kind::Double, 8),
        "HalfStorage" => (Kind::Half, 2),
        "BFloat16Storage" => (Kind::BFloat16, 2),
        "LongStorage" => (Kind::Int64, 8),
        "IntStorage" => (Kind::Int, 4),
        "ShortStorage" => (Kind::Int16, 2),
        "CharStorage" => (Kind::Int8, 1),
        "ByteStorage" => (Kind::Uint8, 1),
        "BoolStorage" => (Kind::Bool, 1),
        _ => return None,
    })
}

/// Loads a storage's elements (a 1-d tensor of `numel` elements) on demand.
pub(crate) type Loader<'l> = dyn FnMut(&StorageRef) -> Result<Tensor, String> + 'l;

/// Runs the pickle in `data`, loading storages through `load`.
pub(crate) fn unpickle(data: &[u8], load: &mut Loader<'_>) -> Result<PickleValue, String> {
    Unpickler::new(data).run(load)
}

struct Unpickler<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<PickleValue>,
    memo: HashMap<u32, PickleValue>,
}

impl<'a> Unpickler<'a> {
    fn new(data: &'a [u8]) -> Self {
        Unpickler {
            data,
            pos: 0,
            stack: Vec::new(),
            memo: HashMap::new(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or("truncated pickle")?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&c| c == b'\n')
            .ok_or("truncated GLOBAL")?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(s)
    }

    fn pop(&mut self) -> Result<PickleValue, String> {
        self.stack.pop().ok_or_else(|| "stack underflow".to_owned())
    }

    fn pop_mark(&mut self) -> Result<Vec<PickleValue>, String> {
        let at = self
            .stack
            .iter()
            .rposition(|v| matches!(v, PickleValue::Mark))
            .ok_or("MARK not found")?;
        let items = self.stack.split_off(at + 1);
        self.stack.pop();
        Ok(items)
    }

    fn top_mut(&mut self) -> Result<&mut PickleValue, String> {
        self.stack
            .last_mut()
            .ok_or_else(|| "stack underflow".to_owned())
    }

    fn push_str(&mut self, n: usize) -> Result<(), String> {
        let b = self.take(n)?;
        let s = std::str::from_utf8(b).map_err(|_| "invalid UTF-8 string")?;
        self.stack.push(PickleValue::Str(s.to_owned()));
        Ok(())
    }

    fn run(mut self, load: &mut Loader<'_>) -> Result<PickleValue, String> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.take(8)?; // FRAME
                }
                b'.' => return self.pop(),
                b'(' => self.stack.push(PickleValue::Mark),
                b'}' => self.stack.push(PickleValue::Dict(Vec::new())),
                b']' | b')' => self.stack.push(PickleValue::List(Vec::new())),
                b'N' => self.stack.push(PickleValue::None),
                0x88 => self.stack.push(PickleValue::Bool(true)),
                0x89 => self.stack.push(PickleValue::Bool(false)),
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(PickleValue::Int(v.into()));
                }
                b'M' => {
                    let b = self.take(2)?;
                    let v = u16::from_le_bytes([b[0], b[1]]);
                    self.stack.push(PickleValue::Int(v.into()));
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.stack.push(PickleValue::Int(v.into()));
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    if n > 8 {
                        return Err("integer wider than 64 bits".into());
                    }
                    let mut buf = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                        [0xff; 8]
                    } else {
                        [0; 8]
                    };
                    buf[..n].copy_from_slice(b);
                    self.stack.push(PickleValue::Int(i64::from_le_bytes(buf)));
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.stack.push(PickleValue::Float(f64::from_be_bytes(a)));
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    self.push_str(n)?;
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    self.push_str(n)?;
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(PickleValue::List(items));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err("stack underflow".into());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(PickleValue::List(items));
                }
                b'a' => {
                    let v = self.pop()?;
                    match self.top_mut()? {
                        PickleValue::List(l) => l.push(v),
                        _ => return Err("APPEND to a non-list".into()),
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    match self.top_mut()? {
                        PickleValue::List(l) => l.extend(items),
                        _ => return Err("APPENDS to a non-list".into()),
                    }
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    match self.top_mut()? {
                        PickleValue::Dict(d) => d.push((k, v)),
                        _ => return Err("SETITEM on a non-dict".into()),
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err("SETITEMS with an odd number of items".into());
                    }
                    let mut it = items.into_iter();
                    let mut pairs = Vec::new();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    match self.top_mut()? {
                        PickleValue::Dict(d) => d.extend(pairs),
                        _ => return Err("SETITEMS on a non-dict".into()),
                    }
                }
                b'q' => {
                    let i = self.u8()?.into();
                    let v = self.top_mut()?.clone();
                    self.memo.insert(i, v);
                }
                b'r' => {
                    let i = self.u32()?;
                    let v = self.top_mut()?.clone();
                    self.memo.insert(i, v);
                }
                0x94 => {
                    let i = self.memo.len() as u32;
                    let v = self.top_mut()?.clone();
                    self.memo.insert(i, v);
                }
                b'h' | b'j' => {
                    let i = if op == b'h' {
                        self.u8()?.into()
                    } else {
                        self.u32()?
                    };
                    let v = self.memo.get(&i).cloned().ok_or("memo key not found")?;
                    self.stack.push(v);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(global(&module, &name)?);
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.stack.push(PickleValue::Storage(storage_ref(pid)?));
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let v = reduce(func, args, load)?;
                    self.stack.push(v);
                }
                b'b' => {
                    // BUILD: OrderedDict's `_metadata` state (dropped) or a numpy dtype's state.
                    let state = self.pop()?;
                    if matches!(self.top_mut()?, PickleValue::NumpyDtype(_)) {
                        numpy::build_dtype(&state)?;
                    } else if !matches!(self.top_mut()?, PickleValue::Dict(_)) {
                        return Err("BUILD on a non-dict object".into());
                    }
                }
                other => return Err(format!("opcode 0x{other:02x} is not supported")),
            }
        }
    }
}

fn global(module: &str, name: &str) -> Result<PickleValue, String> {
    let ok = match module {
        "collections" => name == "OrderedDict",
        "torch._utils" => name == "_rebuild_tensor_v2" || name == "_rebuild_parameter",
        "torch" => storage_kind(name).is_some(),
        _ => numpy::is_numpy_global(module, name),
    };
    if ok {
        Ok(PickleValue::Global(format!("{module}.{name}")))
    } else {
        Err(format!("refusing to load global {module}.{name}"))
    }
}

fn storage_ref(pid: PickleValue) -> Result<StorageRef, String> {
    let PickleValue::List(items) = pid else {
        return Err("persistent id is not a tuple".into());
    };
    match items.as_slice() {
        [PickleValue::Str(tag), PickleValue::Global(class), PickleValue::Str(key), _, PickleValue::Int(numel)]
            if tag == "storage" =>
        {
            let short = class.trim_start_matches("torch.");
            let (kind, _) = storage_kind(short).ok_or("unknown storage class")?;
            Ok(StorageRef {
                kind,
                key: key.clone(),
                numel: *numel,
            })
        }
        _ => Err("persistent id is not ('storage', class, key, location, numel)".into()),
    }
}

fn ints(v: &PickleValue, what: &str) -> Result<Vec<i64>, String> {
    match v {
        PickleValue::List(items) => items
            .iter()
            .map(|i| match i {
                PickleValue::Int(x) => Ok(*x),
                _ => Err(format!("{what} holds a non-integer")),
            })
            .collect(),
        _ => Err(format!("{what} is not a tuple")),
    }
}

fn reduce(
    func: PickleValue,
    args: PickleValue,
    load: &mut Loader<'_>,
) -> Result<PickleValue, String> {
    let PickleValue::Global(name) = func else {
        return Err("REDUCE on a non-callable".into());
    };
    let PickleValue::List(args) = args else {
        return Err("REDUCE arguments are not a tuple".into());
    };
    if let Some(v) = numpy::reduce(&name, &args) {
        return v;
    }
    match name.as_str() {
        "collections.OrderedDict" if args.is_empty() => Ok(PickleValue::Dict(Vec::new())),
        "torch._utils._rebuild_parameter" => match args.into_iter().next() {
            Some(t @ PickleValue::Tensor(_)) => Ok(t),
            _ => Err("_rebuild_parameter without a tensor".into()),
        },
        "torch._utils._rebuild_tensor_v2" => {
            let [PickleValue::Storage(s), PickleValue::Int(offset), size, stride, ..] =
                args.as_slice()
            else {
                return Err("_rebuild_tensor_v2 arguments are malformed".into());
            };
            let size = ints(size, "tensor size")?;
            let stride = ints(stride, "tensor stride")?;
            if size.len() != stride.len() || size.iter().chain(&stride).any(|&x| x < 0) {
                return Err("tensor size/stride are malformed".into());
            }
            let extent = size.iter().zip(&stride).fold(0i64, |acc, (&n, &st)| {
                acc.saturating_add((n - 1).max(0).saturating_mul(st))
            });
            let empty = size.contains(&0);
            if *offset < 0 || (!empty && offset.saturating_add(extent) >= s.numel) {
                return Err(format!("tensor view exceeds its storage {}", s.key));
            }
            let storage = load(s)?;
            let t = if empty {
                Tensor::zeros(size.as_slice(), (s.kind, tch::Device::Cpu))
            } else {
                storage
                    .f_as_strided(size.as_slice(), stride.as_slice(), *offset)
                    .and_then(|t| t.f_contiguous())
                    .map_err(|e| e.to_string())?
            };
            Ok(PickleValue::Tensor(TensorHandle(t)))
        }
        other => Err(format!("REDUCE of {other} is not supported")),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse(bytes: &[u8]) -> Result<PickleValue, String> {
        let mut load = |s: &StorageRef| -> Result<Tensor, String> {
            Ok(Tensor::zeros(
                [s.numel.clamp(0, 1 << 16)],
                (s.kind, tch::Device::Cpu),
            ))
        };
        Unpickler::new(bytes).run(&mut load)
    }

    /// `pickle.dumps({"a": [1, 2.5, True, None], "b": "x", "c": -300}, protocol=2)`.
    const PLAIN: &[u8] = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01G@\x04\x00\x00\x00\x00\x00\x00\x88NeX\x01\x00\x00\x00bq\x03X\x01\x00\x00\x00xq\x04X\x01\x00\x00\x00cq\x05J\xd4\xfe\xff\xffu.";

    #[test]
    fn plain_data_round_trips_to_json() {
        let v = parse(PLAIN).unwrap().to_json().unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": [1, 2.5, true, null], "b": "x", "c": -300})
        );
    }

    #[test]
    fn globals_outside_the_allow_list_are_refused() {
        let err = parse(b"\x80\x02cbuiltins\neval\nq\x00.").unwrap_err();
        assert!(
            err.contains("refusing to load global builtins.eval"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn corrupted_pickles_never_panic(pos in 0usize..PLAIN.len(), byte in any::<u8>(), cut in 0usize..=PLAIN.len()) {
            let mut bytes = PLAIN.to_vec();
            bytes[pos] = byte;
            let _ = parse(&bytes);
            let _ = parse(&PLAIN[..cut]);
        }
    }
}
