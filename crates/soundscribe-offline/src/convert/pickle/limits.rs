//! Bounds on what a pickle may build, so a hostile checkpoint gets a clear error instead of
//! a stack overflow or runaway memory.
//!
//! The stack machine copies memo entries (PUT and GET clone), so a few hundred bytes that
//! reuse one list through the memo double it each time, and nothing stops a pickle from
//! nesting lists 200,000 deep (which `PickleValue`'s recursive `Clone`, `Drop`, `Debug` and
//! every walker would overflow the stack on). Every stack and memo entry therefore carries
//! its [`Size`] beside it, updated as containers are built and filled, so no limit ever
//! walks a value; each value made, memo copies included, is charged to a [`Budget`]
//! *before* it is made. The deepest value that can exist is [`Limits::max_depth`] deep,
//! shallow enough for the recursive walks on a 2 MiB thread stack.

use std::collections::HashSet;

/// The limits; [`Limits::DEFAULT`] is far above any real checkpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Deepest nesting of containers (a real state dict: < 10). Low because the walks of a
    /// value recurse (`Clone`, `Drop`, `Debug`, `to_json`): in a debug build `to_json` of
    /// a 1000-deep value needs ~2 MiB of stack, of a 100-deep one under 256 KiB.
    pub max_depth: u32,
    /// Values made in all, memo copies included (a state dict of a few hundred tensors: a
    /// few thousand). ~50 bytes each, so this also bounds the memory of the values.
    pub max_values: u64,
    /// String and bytes payload made in all, memo copies included.
    pub max_string_bytes: u64,
    /// Bytes that tensor views may copy beyond the archive storages they read: a view
    /// with overlapping strides (stride 0, as `expand` makes) is materialised by
    /// `contiguous()` and can be far larger than its storage.
    pub max_extra_copy_bytes: u64,
}

impl Limits {
    pub(crate) const DEFAULT: Limits = Limits {
        max_depth: 100,
        max_values: 10_000_000,
        max_string_bytes: 256 << 20,
        max_extra_copy_bytes: 1 << 30,
    };
}

/// The extent of one value, kept beside it instead of measured by walking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Size {
    /// Containers on the longest path from the value down, the value included: 1 for a
    /// scalar or an empty list, 2 for `[1]`.
    pub depth: u32,
    /// Values in the tree, the value itself included.
    pub values: u64,
    /// String and bytes payload in the tree.
    pub string_bytes: u64,
}

impl Size {
    /// A single value holding `string_bytes` of payload (a str, a global's name, ...).
    pub(crate) fn leaf(string_bytes: usize) -> Size {
        Size {
            depth: 1,
            values: 1,
            string_bytes: string_bytes as u64,
        }
    }

    /// Several values side by side (the items of a tuple, the pairs of SETITEMS):
    /// the deepest of them, and their values and bytes summed. `Size::NONE` for none.
    pub(crate) fn join(sizes: &[Size]) -> Size {
        sizes.iter().fold(Size::NONE, |acc, s| Size {
            depth: acc.depth.max(s.depth),
            values: acc.values.saturating_add(s.values),
            string_bytes: acc.string_bytes.saturating_add(s.string_bytes),
        })
    }

    /// Nothing (depth 0), the join of no values.
    pub(crate) const NONE: Size = Size {
        depth: 0,
        values: 0,
        string_bytes: 0,
    };
}

/// What the pickle has made so far, against its [`Limits`].
#[derive(Debug)]
pub(crate) struct Budget {
    limits: Limits,
    values: u64,
    string_bytes: u64,
    storages: HashSet<String>,
    storage_bytes: u64,
    copied_bytes: u64,
}

impl Budget {
    pub(crate) fn new(limits: Limits) -> Self {
        Budget {
            limits,
            values: 0,
            string_bytes: 0,
            storages: HashSet::new(),
            storage_bytes: 0,
            copied_bytes: 0,
        }
    }

    /// Charges a value of `size` about to be made (pushed, or copied for the memo).
    pub(crate) fn charge(&mut self, size: Size) -> Result<(), String> {
        let values = self.values.saturating_add(size.values);
        if values > self.limits.max_values {
            return Err(format!(
                "pickle expands to more than {} values (memo reuse)",
                self.limits.max_values
            ));
        }
        let bytes = self.string_bytes.saturating_add(size.string_bytes);
        if bytes > self.limits.max_string_bytes {
            return Err(format!(
                "pickle expands to more than {} MiB of strings (memo reuse)",
                self.limits.max_string_bytes >> 20
            ));
        }
        self.values = values;
        self.string_bytes = bytes;
        Ok(())
    }

    /// Puts `children` (a [`Size::join`]) into the container of size `parent`; refuses,
    /// leaving `parent` as it was, if that nests too deep. Charges nothing: the children
    /// were charged when made.
    pub(crate) fn nest(&self, parent: &mut Size, children: Size) -> Result<(), String> {
        let depth = parent.depth.max(children.depth.saturating_add(1));
        if depth > self.limits.max_depth {
            return Err(format!(
                "pickle nests deeper than {} levels",
                self.limits.max_depth
            ));
        }
        *parent = Size {
            depth,
            values: parent.values.saturating_add(children.values),
            string_bytes: parent.string_bytes.saturating_add(children.string_bytes),
        };
        Ok(())
    }

    /// A new container holding `children`: the container is charged, the children not.
    pub(crate) fn container(&mut self, children: Size) -> Result<Size, String> {
        let mut size = Size::leaf(0);
        self.nest(&mut size, children)?;
        self.charge(Size::leaf(0))?;
        Ok(size)
    }

    /// Notes an archive storage of `bytes` read by a tensor view (once per key).
    pub(crate) fn storage(&mut self, key: &str, bytes: u64) {
        if self.storages.insert(key.to_owned()) {
            self.storage_bytes = self.storage_bytes.saturating_add(bytes);
        }
    }

    /// Charges a tensor view's copy of `bytes` (views that are not contiguous are copied).
    pub(crate) fn copy(&mut self, bytes: u64) -> Result<(), String> {
        let copied = self.copied_bytes.saturating_add(bytes);
        let allowed = self
            .storage_bytes
            .saturating_add(self.limits.max_extra_copy_bytes);
        if copied > allowed {
            return Err(format!(
                "tensor views copy more than {} MiB beyond the archive's {} MiB of storages \
                 (overlapping strides)",
                self.limits.max_extra_copy_bytes >> 20,
                self.storage_bytes >> 20
            ));
        }
        self.copied_bytes = copied;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_nest_and_join_without_walking() {
        let budget = Budget::new(Limits::DEFAULT);
        let mut list = Size::leaf(0);
        budget
            .nest(&mut list, Size::join(&[Size::leaf(3), Size::leaf(0)]))
            .unwrap();
        assert_eq!(
            list,
            Size {
                depth: 2,
                values: 3,
                string_bytes: 3
            }
        );
        let mut outer = Size::leaf(0);
        budget.nest(&mut outer, Size::join(&[list, list])).unwrap();
        assert_eq!((outer.depth, outer.values, outer.string_bytes), (3, 7, 6));
        assert_eq!(Size::join(&[]), Size::NONE);
    }

    #[test]
    fn each_limit_refuses_with_its_own_message() {
        let limits = Limits {
            max_depth: 2,
            max_values: 5,
            max_string_bytes: 2 << 20,
            max_extra_copy_bytes: 1 << 20,
        };
        let mut budget = Budget::new(limits);
        let mut two = budget.container(Size::leaf(0)).unwrap();
        let before = two;
        let err = budget.nest(&mut two, before).unwrap_err();
        assert_eq!(err, "pickle nests deeper than 2 levels");
        assert_eq!(two, before, "a refused nest leaves the parent as it was");

        budget.charge(Size::leaf(0)).unwrap();
        let err = budget.charge(Size::join(&[two, two])).unwrap_err();
        assert_eq!(err, "pickle expands to more than 5 values (memo reuse)");
        let err = budget.charge(Size::leaf(3 << 20)).unwrap_err();
        assert!(err.contains("more than 2 MiB of strings"), "{err}");

        budget.storage("0", 4 << 20);
        budget.storage("0", 4 << 20);
        budget.copy(5 << 20).unwrap();
        let err = budget.copy(1).unwrap_err();
        assert!(
            err.contains("more than 1 MiB beyond the archive's 4 MiB"),
            "{err}"
        );
    }
}
