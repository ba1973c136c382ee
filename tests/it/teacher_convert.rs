//! `soundscribe convert teacher` and `soundscribe dump` end to end, and clear errors (never
//! panics) for malformed checkpoints and model directories.

use std::collections::HashMap;
use std::io::Write;
use std::process::Command;

use crate::common;
use common::{fixture_dir, sources};

use soundscribe::model::checkpoint::{MODEL_JSON, MODEL_WEIGHTS};
use soundscribe::model::load::load_model_dir;
use soundscribe_offline::convert::teacher::{convert_teacher, TeacherSources};
use tch::{Device, Kind, Tensor};

fn soundscribe(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .args(args)
        .output()
        .expect("run soundscribe")
}

#[test]
fn cli_convert_then_dump_reproduces_every_golden_tensor() {
    let fx = fixture_dir();
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model");
    let p = |name: &str| fx.join(name).display().to_string();
    let out = soundscribe(&[
        "convert",
        "teacher",
        "--checkpoint",
        &p("pytorch_model.bin"),
        "--config",
        &p("config.json"),
        "--conformer-config",
        &p("conformer_config.json"),
        "--beats",
        &p("beats.pt"),
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(model.join(MODEL_WEIGHTS).is_file() && model.join(MODEL_JSON).is_file());

    let dumped = tmp.path().join("dump.safetensors");
    let out = soundscribe(&[
        "dump",
        "--model",
        model.to_str().unwrap(),
        "--input",
        &p("io.safetensors"),
        "--out",
        dumped.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let golden: HashMap<String, Tensor> = Tensor::read_safetensors(fx.join("io.safetensors"))
        .unwrap()
        .into_iter()
        .collect();
    let got: HashMap<String, Tensor> = Tensor::read_safetensors(&dumped)
        .unwrap()
        .into_iter()
        .collect();
    let inputs = ["wave", "dec_input_ids", "labels", "greedy_margin"];
    for (name, want) in golden.iter().filter(|(n, _)| !inputs.contains(&n.as_str())) {
        let got = got.get(name).unwrap_or_else(|| panic!("dump lacks {name}"));
        assert_eq!(got.size(), want.size(), "{name}");
        if want.kind() == Kind::Int64 {
            assert!(got.equal(want), "{name} differs");
        } else {
            let diff = (got - want).abs().max().double_value(&[]);
            let scale = want.abs().max().double_value(&[]).max(1.0);
            assert!(diff <= 1e-4 * scale, "{name}: max |Δ| {diff}");
        }
    }
}

#[test]
fn mismatched_config_lists_every_problem_and_names_the_checkpoint() {
    let fx = fixture_dir();
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fx.join("conformer_config.json")).unwrap())
            .unwrap();
    cfg["num_hidden_layers"] = 3.into();
    cfg["intermediate_size"] = 200.into();
    let conformer = tmp.path().join("conformer_config.json");
    std::fs::write(&conformer, cfg.to_string()).unwrap();
    let src = TeacherSources {
        conformer_config: conformer,
        ..sources(&fx)
    };
    let err = convert_teacher(&src, &tmp.path().join("out"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("pytorch_model.bin"), "{err}");
    assert!(
        err.contains("missing postencoder.layers.2.ffn1.output_dense.weight"),
        "{err}"
    );
    assert!(
        err.contains("postencoder.layers.0.ffn1.intermediate_dense.weight: shape [192, 96], expected [200, 96]"),
        "{err}"
    );
    assert!(
        err.contains("postencoder.layers.1.ffn2.output_dense.weight: shape"),
        "{err}"
    );
}

#[test]
fn wrong_or_truncated_checkpoints_give_clear_errors() {
    let fx = fixture_dir();
    let tmp = tempfile::tempdir().unwrap();
    // BEATs' nested {cfg, model} file given as the captioner checkpoint.
    let src = TeacherSources {
        checkpoint: fx.join("beats.pt"),
        ..sources(&fx)
    };
    let err = convert_teacher(&src, tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("beats.pt") && err.contains("is not a tensor"),
        "{err}"
    );

    // Truncated zip.
    let bytes = std::fs::read(fx.join("pytorch_model.bin")).unwrap();
    let truncated = tmp.path().join("truncated.bin");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let src = TeacherSources {
        checkpoint: truncated,
        ..sources(&fx)
    };
    let err = convert_teacher(&src, tmp.path()).unwrap_err().to_string();
    assert!(err.contains("truncated.bin"), "{err}");

    // Missing file.
    let src = TeacherSources {
        beats: tmp.path().join("nope.pt"),
        ..sources(&fx)
    };
    let err = convert_teacher(&src, tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("nope.pt") && err.contains("cannot open"),
        "{err}"
    );
}

#[test]
fn pickled_code_is_refused() {
    let fx = fixture_dir();
    let tmp = tempfile::tempdir().unwrap();
    let evil = tmp.path().join("evil.bin");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&evil).unwrap());
    let opts =
        zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("evil/data.pkl", opts).unwrap();
    // pickle.dumps of os.system("true"), protocol 2.
    zip.write_all(b"\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.")
        .unwrap();
    zip.finish().unwrap();
    let src = TeacherSources {
        checkpoint: evil,
        ..sources(&fx)
    };
    let err = convert_teacher(&src, tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("evil.bin") && err.contains("refusing to load global posix.system"),
        "{err}"
    );
}

#[test]
fn loading_a_model_dir_lists_all_mismatches_in_one_error() {
    let fx = fixture_dir();
    let tmp = tempfile::tempdir().unwrap();
    convert_teacher(&sources(&fx), tmp.path()).unwrap();
    let weights = tmp.path().join(MODEL_WEIGHTS);
    let mut tensors: Vec<(String, Tensor)> = Tensor::read_safetensors(&weights)
        .unwrap()
        .into_iter()
        .filter(|(n, _)| n != "lm_head.weight")
        .map(|(n, t)| {
            if n == "final_logits_bias" {
                (n, Tensor::zeros([1, 7], (Kind::Float, Device::Cpu)))
            } else {
                (n, t)
            }
        })
        .collect();
    tensors.push((
        "stray.weight".into(),
        Tensor::zeros([2], (Kind::Float, Device::Cpu)),
    ));
    Tensor::write_safetensors(&tensors, &weights).unwrap();
    let err = load_model_dir(tmp.path(), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains(MODEL_WEIGHTS), "{err}");
    assert!(err.contains("3 tensor mismatch(es)"), "{err}");
    assert!(err.contains("missing lm_head.weight [512, 96]"), "{err}");
    assert!(
        err.contains("final_logits_bias: shape [1, 7], expected [1, 512]"),
        "{err}"
    );
    assert!(err.contains("unexpected stray.weight [2]"), "{err}");

    std::fs::write(&weights, b"not safetensors").unwrap();
    let err = load_model_dir(tmp.path(), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains(MODEL_WEIGHTS), "{err}");

    std::fs::write(tmp.path().join(MODEL_JSON), b"{\"format_version\": 1}").unwrap();
    let err = load_model_dir(tmp.path(), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(MODEL_JSON) && err.contains("invalid model.json"),
        "{err}"
    );
}

#[test]
fn nonsensical_dimensions_are_errors_not_panics() {
    let fx = fixture_dir();
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fx.join("config.json")).unwrap()).unwrap();
    cfg["decoder_attention_heads"] = 0.into();
    cfg["encoder_downsample_rate"] = (-3).into();
    let config = tmp.path().join("config.json");
    std::fs::write(&config, cfg.to_string()).unwrap();
    let src = TeacherSources {
        config,
        ..sources(&fx)
    };
    let err = convert_teacher(&src, &tmp.path().join("out"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("encoder_downsample_rate = -3 must be positive"),
        "{err}"
    );
}
