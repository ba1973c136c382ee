//! libtorch through tch works end to end: tensors, an `nn::Linear`, safetensors I/O.

use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

#[test]
fn linear_layer_computes_and_weights_round_trip_through_safetensors() {
    let vs = nn::VarStore::new(Device::Cpu);
    let mut linear = nn::linear(vs.root() / "proj", 3, 2, Default::default());
    tch::no_grad(|| {
        linear
            .ws
            .copy_(&Tensor::from_slice(&[1.0f32, 2.0, 3.0, -1.0, 0.5, 0.0]).view([2, 3]));
        linear
            .bs
            .as_mut()
            .unwrap()
            .copy_(&Tensor::from_slice(&[0.5f32, -0.5]));
    });
    let x = Tensor::from_slice(&[1.0f32, 1.0, 1.0, 2.0, 0.0, -1.0]).view([2, 3]);
    let y = linear.forward(&x);
    let expected = Tensor::from_slice(&[6.5f32, -1.0, -0.5, -2.5]).view([2, 2]);
    assert!(y.allclose(&expected, 1e-6, 1e-6, false), "{y}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("linear.safetensors");
    vs.save(&path).unwrap();

    let mut vs2 = nn::VarStore::new(Device::Cpu);
    let linear2 = nn::linear(vs2.root() / "proj", 3, 2, Default::default());
    vs2.load(&path).unwrap();
    assert!(linear2.forward(&x).allclose(&expected, 1e-6, 1e-6, false));

    // The file is plain safetensors: readable without tch, with the checkpoint's names.
    let named = Tensor::read_safetensors(&path).unwrap();
    let mut names: Vec<_> = named.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(names, ["proj.bias", "proj.weight"]);
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("proj.weight").unwrap().shape(), &[2, 3]);
}

#[test]
fn tensor_math_matches_hand_computation() {
    let a = Tensor::arange(6, (Kind::Float, Device::Cpu)).view([2, 3]);
    let s = a.sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
    assert_eq!(Vec::<f32>::try_from(&s).unwrap(), vec![3.0, 12.0]);
    let m = a.matmul(&a.tr());
    assert_eq!(
        Vec::<f32>::try_from(&m.flatten(0, -1)).unwrap(),
        vec![5.0, 14.0, 14.0, 50.0]
    );
}

#[test]
fn loading_a_checkpoint_with_a_missing_tensor_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("partial.safetensors");
    Tensor::write_safetensors(
        &[(
            "proj.weight",
            Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)),
        )],
        &path,
    )
    .unwrap();
    let mut vs = nn::VarStore::new(Device::Cpu);
    let _linear = nn::linear(vs.root() / "proj", 3, 2, Default::default());
    let err = vs.load(&path).unwrap_err().to_string();
    assert!(err.contains("proj.bias"), "{err}");
}

/// Built with `--features cuda` (see `make build-cuda`), libtorch_cuda must stay linked and
/// a GPU must be usable; run on a GPU box.
#[cfg(feature = "cuda")]
#[test]
fn cuda_build_sees_a_gpu_and_computes_on_it() {
    assert!(
        tch::Cuda::is_available(),
        "built with the cuda feature but CUDA is not available"
    );
    let a = Tensor::arange(6, (Kind::Float, Device::Cuda(0))).view([2, 3]);
    let m = a.matmul(&a.tr()).to_device(Device::Cpu);
    assert_eq!(
        Vec::<f32>::try_from(&m.flatten(0, -1)).unwrap(),
        vec![5.0, 14.0, 14.0, 50.0]
    );
}
