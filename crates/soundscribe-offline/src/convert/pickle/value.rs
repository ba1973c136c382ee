//! Values of the restricted pickle dialect read by `pickle`: plain data, tensors, and the
//! internal markers the stack machine needs; plus accessors for state dicts and configs.

use tch::{Kind, Tensor};

/// A value decoded from the pickle.
#[derive(Debug, Clone)]
pub enum PickleValue {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// A Python int that fits in i64.
    Int(i64),
    /// A Python float.
    Float(f64),
    /// A Python str.
    Str(String),
    /// A list or tuple.
    List(Vec<PickleValue>),
    /// A dict or OrderedDict, in insertion order.
    Dict(Vec<(PickleValue, PickleValue)>),
    /// A tensor, materialised from its storage.
    Tensor(TensorHandle),
    /// Internal: an allowed global (storage class or rebuild function).
    Global(String),
    /// Internal: a storage reference from a persistent id.
    Storage(StorageRef),
    /// Internal: a stack mark.
    Mark,
    /// Raw bytes (`_codecs.encode(str, "latin1")`, as numpy scalars are pickled).
    Bytes(Vec<u8>),
    /// Internal: a numpy dtype by type code (e.g. `"i8"`), argument of a numpy scalar.
    NumpyDtype(String),
}

/// A tensor read from the archive (wrapped so `PickleValue` can be `Clone`).
#[derive(Debug)]
pub struct TensorHandle(pub Tensor);

impl Clone for TensorHandle {
    fn clone(&self) -> Self {
        TensorHandle(self.0.shallow_clone())
    }
}

/// A storage named by a persistent id: `('storage', torch.FloatStorage, key, location, numel)`.
#[derive(Debug, Clone)]
pub struct StorageRef {
    pub(crate) kind: Kind,
    pub(crate) key: String,
    pub(crate) numel: i64,
}

impl PickleValue {
    /// Looks up a string key in a dict.
    pub fn get(&self, key: &str) -> Option<&PickleValue> {
        match self {
            PickleValue::Dict(d) => d
                .iter()
                .find(|(k, _)| matches!(k, PickleValue::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The `name → tensor` entries of a state dict; an error names the first non-tensor.
    pub fn state_dict(&self) -> Result<Vec<(String, Tensor)>, String> {
        let PickleValue::Dict(d) = self else {
            return Err("expected a state dict (a dict of tensors)".into());
        };
        d.iter()
            .map(|(k, v)| match (k, v) {
                (PickleValue::Str(k), PickleValue::Tensor(t)) => {
                    Ok((k.clone(), t.0.shallow_clone()))
                }
                (PickleValue::Str(k), _) => Err(format!("state dict entry {k:?} is not a tensor")),
                _ => Err("state dict has a non-string key".into()),
            })
            .collect()
    }

    /// Converts plain data (no tensors) to JSON, e.g. BEATs' `cfg` dict.
    pub fn to_json(&self) -> Result<serde_json::Value, String> {
        use serde_json::Value;
        Ok(match self {
            PickleValue::None => Value::Null,
            PickleValue::Bool(b) => Value::Bool(*b),
            PickleValue::Int(i) => Value::from(*i),
            PickleValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .ok_or("non-finite float")?,
            PickleValue::Str(s) => Value::String(s.clone()),
            PickleValue::List(l) => {
                Value::Array(l.iter().map(Self::to_json).collect::<Result<_, _>>()?)
            }
            PickleValue::Dict(d) => {
                let mut m = serde_json::Map::new();
                for (k, v) in d {
                    let PickleValue::Str(k) = k else {
                        return Err("dict with a non-string key".into());
                    };
                    m.insert(k.clone(), v.to_json()?);
                }
                Value::Object(m)
            }
            _ => return Err("not plain data".into()),
        })
    }
}
