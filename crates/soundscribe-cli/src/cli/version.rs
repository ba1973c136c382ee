//! `soundscribe version`.

use std::process::ExitCode;

use soundscribe::torch_info::TorchInfo;

/// Arguments of `soundscribe version`.
#[derive(Debug, clap::Args)]
pub struct VersionArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The tch crate version this binary was built with (pinned exactly in Cargo.toml).
const TCH_VERSION: &str = "0.24.0";

pub(super) fn run(args: &VersionArgs) -> anyhow::Result<ExitCode> {
    let info = TorchInfo::current();
    let lib_dir = info.lib_dir.as_ref().map(|d| d.display().to_string());
    if args.json {
        let v = serde_json::json!({
            "soundscribe": env!("CARGO_PKG_VERSION"),
            "tch": TCH_VERSION,
            "libtorch": info.version,
            "libtorch_dir": lib_dir,
            "cuda_available": info.cuda_available,
            "cuda_devices": info.cuda_devices,
            "cudnn_available": info.cudnn_available,
        });
        println!("{v}");
    } else {
        println!("soundscribe {}", env!("CARGO_PKG_VERSION"));
        println!("tch         {TCH_VERSION}");
        println!(
            "libtorch    {} ({})",
            info.version,
            lib_dir.as_deref().unwrap_or("location unknown")
        );
        if info.cuda_available {
            println!(
                "cuda        available, {} device(s), cudnn {}",
                info.cuda_devices, info.cudnn_available
            );
        } else {
            println!("cuda        not available (CPU only)");
        }
    }
    Ok(ExitCode::SUCCESS)
}
