//! A pickle stack machine restricted to plain data and torch tensor storages.
//!
//! It understands dict, list, tuple, str, int, float, bool, None, `collections.OrderedDict`
//! and the tensor-rebuilding calls `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter`
//! with `torch.*Storage` persistent ids. Any other global is refused, so no code from the
//! file ever runs. Opcode reference: Python's `Lib/pickletools.py`.

mod limits;
mod numpy;
pub mod value;

use std::collections::HashMap;

use tch::{Kind, Tensor};

use limits::{Budget, Limits, Size};
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

/// Runs the pickle in `data`, loading storages through `load`, within [`Limits::DEFAULT`].
pub(crate) fn unpickle(data: &[u8], load: &mut Loader<'_>) -> Result<PickleValue, String> {
    Unpickler::new(data, Limits::DEFAULT).run(load)
}

/// The stack machine. `sizes` runs parallel to `stack` (one [`Size`] per entry) and each
/// memo entry keeps its size, so the limits never walk a value.
struct Unpickler<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<PickleValue>,
    sizes: Vec<Size>,
    memo: HashMap<u32, (PickleValue, Size)>,
    budget: Budget,
}

impl<'a> Unpickler<'a> {
    fn new(data: &'a [u8], limits: Limits) -> Self {
        Unpickler {
            data,
            pos: 0,
            stack: Vec::new(),
            sizes: Vec::new(),
            memo: HashMap::new(),
            budget: Budget::new(limits),
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

    /// Pushes a value of `size` already charged to the budget.
    fn push_sized(&mut self, v: PickleValue, size: Size) {
        self.stack.push(v);
        self.sizes.push(size);
    }

    /// Charges and pushes a value holding no other values.
    fn push(&mut self, v: PickleValue) -> Result<(), String> {
        let size = Size::leaf(payload(&v));
        self.budget.charge(size)?;
        self.push_sized(v, size);
        Ok(())
    }

    fn pop(&mut self) -> Result<(PickleValue, Size), String> {
        match (self.stack.pop(), self.sizes.pop()) {
            (Some(v), Some(s)) => Ok((v, s)),
            _ => Err("stack underflow".to_owned()),
        }
    }

    /// Pops the entries above the topmost MARK, and the MARK; returns them and their join.
    fn pop_mark(&mut self) -> Result<(Vec<PickleValue>, Size), String> {
        let at = self
            .stack
            .iter()
            .rposition(|v| matches!(v, PickleValue::Mark))
            .ok_or("MARK not found")?;
        Ok(self.pop_from(at + 1, 1))
    }

    /// Pops the entries from `at` on, then `extra` more; returns the former and their join.
    fn pop_from(&mut self, at: usize, extra: usize) -> (Vec<PickleValue>, Size) {
        let items = self.stack.split_off(at);
        let sizes = self.sizes.split_off(at);
        let new_len = at.saturating_sub(extra);
        self.stack.truncate(new_len);
        self.sizes.truncate(new_len);
        (items, Size::join(&sizes))
    }

    /// Pushes a new list (or tuple) of `items`, of joined size `children`.
    fn push_list(&mut self, items: Vec<PickleValue>, children: Size) -> Result<(), String> {
        let size = self.budget.container(children)?;
        self.push_sized(PickleValue::List(items), size);
        Ok(())
    }

    /// The top entry, with its size grown by `children` (refused if too deep) for the
    /// caller to put them in.
    fn top_grown(&mut self, children: Size) -> Result<&mut PickleValue, String> {
        let (Some(top), Some(size)) = (self.stack.last_mut(), self.sizes.last_mut()) else {
            return Err("stack underflow".into());
        };
        self.budget.nest(size, children)?;
        Ok(top)
    }

    fn top(&self) -> Result<&PickleValue, String> {
        self.stack
            .last()
            .ok_or_else(|| "stack underflow".to_owned())
    }

    fn push_str(&mut self, n: usize) -> Result<(), String> {
        let b = self.take(n)?;
        let s = std::str::from_utf8(b).map_err(|_| "invalid UTF-8 string")?;
        self.budget.charge(Size::leaf(s.len()))?;
        self.push_sized(PickleValue::Str(s.to_owned()), Size::leaf(s.len()));
        Ok(())
    }

    /// PUT: the memo gets a copy of the top entry, charged before it is made.
    fn memo_put(&mut self, i: u32) -> Result<(), String> {
        let size = *self.sizes.last().ok_or("stack underflow")?;
        self.budget.charge(size)?;
        let v = self.top()?.clone();
        self.memo.insert(i, (v, size));
        Ok(())
    }

    /// GET: pushes a copy of a memo entry, charged before it is made.
    fn memo_get(&mut self, i: u32) -> Result<(), String> {
        let size = self.memo.get(&i).ok_or("memo key not found")?.1;
        self.budget.charge(size)?;
        let v = self.memo[&i].0.clone();
        self.push_sized(v, size);
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
                b'.' => return Ok(self.pop()?.0),
                b'(' => self.push(PickleValue::Mark)?,
                b'}' => self.push(PickleValue::Dict(Vec::new()))?,
                b']' | b')' => self.push(PickleValue::List(Vec::new()))?,
                b'N' => self.push(PickleValue::None)?,
                0x88 => self.push(PickleValue::Bool(true))?,
                0x89 => self.push(PickleValue::Bool(false))?,
                b'K' => {
                    let v = self.u8()?;
                    self.push(PickleValue::Int(v.into()))?;
                }
                b'M' => {
                    let b = self.take(2)?;
                    let v = u16::from_le_bytes([b[0], b[1]]);
                    self.push(PickleValue::Int(v.into()))?;
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(PickleValue::Int(v.into()))?;
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
                    self.push(PickleValue::Int(i64::from_le_bytes(buf)))?;
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.push(PickleValue::Float(f64::from_be_bytes(a)))?;
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
                    let (items, children) = self.pop_mark()?;
                    self.push_list(items, children)?;
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err("stack underflow".into());
                    }
                    let (items, children) = self.pop_from(self.stack.len() - n, 0);
                    self.push_list(items, children)?;
                }
                b'a' => {
                    let (v, size) = self.pop()?;
                    match self.top_grown(size)? {
                        PickleValue::List(l) => l.push(v),
                        _ => return Err("APPEND to a non-list".into()),
                    }
                }
                b'e' => {
                    let (items, children) = self.pop_mark()?;
                    match self.top_grown(children)? {
                        PickleValue::List(l) => l.extend(items),
                        _ => return Err("APPENDS to a non-list".into()),
                    }
                }
                b's' => {
                    let (v, v_size) = self.pop()?;
                    let (k, k_size) = self.pop()?;
                    match self.top_grown(Size::join(&[k_size, v_size]))? {
                        PickleValue::Dict(d) => d.push((k, v)),
                        _ => return Err("SETITEM on a non-dict".into()),
                    }
                }
                b'u' => {
                    let (items, children) = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err("SETITEMS with an odd number of items".into());
                    }
                    let mut it = items.into_iter();
                    let mut pairs = Vec::new();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    match self.top_grown(children)? {
                        PickleValue::Dict(d) => d.extend(pairs),
                        _ => return Err("SETITEMS on a non-dict".into()),
                    }
                }
                b'q' => {
                    let i = self.u8()?.into();
                    self.memo_put(i)?;
                }
                b'r' => {
                    let i = self.u32()?;
                    self.memo_put(i)?;
                }
                0x94 => {
                    let i = self.memo.len() as u32;
                    self.memo_put(i)?;
                }
                b'h' | b'j' => {
                    let i = if op == b'h' {
                        self.u8()?.into()
                    } else {
                        self.u32()?
                    };
                    self.memo_get(i)?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.push(global(&module, &name)?)?;
                }
                b'Q' => {
                    let (pid, _) = self.pop()?;
                    self.push(PickleValue::Storage(storage_ref(pid)?))?;
                }
                b'R' => {
                    let (args, _) = self.pop()?;
                    let (func, _) = self.pop()?;
                    let v = reduce(func, args, load, &mut self.budget)?;
                    self.push(v)?;
                }
                b'b' => {
                    // BUILD: OrderedDict's `_metadata` state (dropped) or a numpy dtype's state.
                    let (state, _) = self.pop()?;
                    if matches!(self.top()?, PickleValue::NumpyDtype(_)) {
                        numpy::build_dtype(&state)?;
                    } else if !matches!(self.top()?, PickleValue::Dict(_)) {
                        return Err("BUILD on a non-dict object".into());
                    }
                }
                other => return Err(format!("opcode 0x{other:02x} is not supported")),
            }
        }
    }
}

/// The string payload of a value that holds no other values.
fn payload(v: &PickleValue) -> usize {
    match v {
        PickleValue::Str(s) | PickleValue::Global(s) | PickleValue::NumpyDtype(s) => s.len(),
        PickleValue::Bytes(b) => b.len(),
        PickleValue::Storage(s) => s.key.len(),
        _ => 0,
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
    budget: &mut Budget,
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
            let elem = s.kind.elt_size_in_bytes() as u64;
            budget.storage(&s.key, (s.numel.max(0) as u64).saturating_mul(elem));
            let t = if empty {
                Tensor::f_zeros(size.as_slice(), (s.kind, tch::Device::Cpu))
            } else {
                let view = storage
                    .f_as_strided(size.as_slice(), stride.as_slice(), *offset)
                    .map_err(|e| e.to_string())?;
                if !view.is_contiguous() {
                    // `contiguous()` copies it: with overlapping strides (stride 0) the copy
                    // can be far larger than the storage.
                    let numel = size
                        .iter()
                        .fold(1u64, |acc, &n| acc.saturating_mul(n as u64));
                    budget.copy(numel.saturating_mul(elem))?;
                }
                view.f_contiguous()
            }
            .map_err(|e| e.to_string())?;
            Ok(PickleValue::Tensor(TensorHandle(t)))
        }
        other => Err(format!("REDUCE of {other} is not supported")),
    }
}

#[cfg(test)]
mod tests;
