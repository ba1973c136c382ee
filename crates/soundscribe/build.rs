//! Links soundscribe against the libtorch that torch-sys found and records where it is.
//!
//! - Adds an RPATH to `$LIBTORCH/lib` so binaries, tests and benches run without
//!   `LD_LIBRARY_PATH` (deployments may still override it, e.g. on GPU boxes).
//! - With the `cuda` feature, keeps `libtorch_cuda.so`/`libtorch.so` linked even though
//!   no symbol of theirs is referenced directly; otherwise `--as-needed` drops them and
//!   CUDA is never initialised.
//! - Exposes the wheel's version (`torch/version.py`) as `SOUNDSCRIBE_LIBTORCH_BUILD_VERSION`.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-changed=build.rs");
    let Ok(libtorch) = env::var("LIBTORCH") else {
        println!("cargo:warning=LIBTORCH is not set; run `make setup` (scripts/setup-torch.sh)");
        println!("cargo:rustc-env=SOUNDSCRIBE_LIBTORCH_BUILD_VERSION=unknown");
        return;
    };
    let root = fs::canonicalize(&libtorch).unwrap_or_else(|_| PathBuf::from(&libtorch));
    let lib = root.join("lib");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());

    let version = fs::read_to_string(root.join("version.py"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("__version__ = "))
                .map(|v| v.trim().trim_matches('\'').trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=SOUNDSCRIBE_LIBTORCH_BUILD_VERSION={version}");

    if env::var_os("CARGO_FEATURE_CUDA").is_some() {
        // The CUDA libraries that libtorch_cuda needs are found through its own RPATH
        // inside the full wheel set, or through LD_LIBRARY_PATH on GPU boxes. They need
        // not exist on the build machine (a CPU box can build the GPU binary), hence
        // --allow-shlib-undefined.
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,-ltorch,--as-needed");
        println!("cargo:rustc-link-arg=-Wl,--allow-shlib-undefined");
    }
}
