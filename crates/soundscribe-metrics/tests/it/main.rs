//! The integration tests, one binary: every file below is a module, so the test build
//! links the libraries (and libtorch) once instead of once per file.

mod eval_golden;
mod eval_props;
mod eval_ptb_parity;
