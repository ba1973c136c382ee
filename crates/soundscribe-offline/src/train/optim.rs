//! AdamW with PyTorch's exact update, a warmup-then-cosine learning-rate schedule, and
//! global gradient-norm clipping.
//!
//! Written here rather than using `tch::nn::Optimizer` because resuming a run exactly needs
//! the moment estimates, which libtorch's optimiser does not expose to tch.

use std::collections::BTreeMap;

use tch::{Kind, Tensor};

/// AdamW hyper-parameters (PyTorch defaults but for weight decay, which is the seed's).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamWConfig {
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 1e-3,
        }
    }
}

/// AdamW over named trainable tensors, with its state exposed for checkpoints.
pub struct AdamW {
    cfg: AdamWConfig,
    params: BTreeMap<String, Tensor>,
    exp_avg: BTreeMap<String, Tensor>,
    exp_avg_sq: BTreeMap<String, Tensor>,
    step: u64,
}

impl AdamW {
    /// Optimises `params` (name → tensor with `requires_grad`), e.g. `vs.trainable_variables`
    /// keyed by `vs.variables()` names.
    pub fn new(params: BTreeMap<String, Tensor>, cfg: AdamWConfig) -> Self {
        let zeros = |p: &Tensor| p.zeros_like().set_requires_grad(false);
        let exp_avg = params.iter().map(|(n, p)| (n.clone(), zeros(p))).collect();
        let exp_avg_sq = params.iter().map(|(n, p)| (n.clone(), zeros(p))).collect();
        AdamW {
            cfg,
            params,
            exp_avg,
            exp_avg_sq,
            step: 0,
        }
    }

    /// Updates completed so far.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Sets every gradient to zero.
    pub fn zero_grad(&mut self) {
        for p in self.params.values_mut() {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
    }

    /// Scales gradients so their global L2 norm is at most `max_norm` (as
    /// `torch.nn.utils.clip_grad_norm_`); returns the norm before clipping.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> f64 {
        let _guard = tch::no_grad_guard();
        let grads: Vec<Tensor> = self
            .params
            .values()
            .map(|p| p.grad())
            .filter(|g| g.defined())
            .collect();
        if grads.is_empty() {
            return 0.0;
        }
        let norms: Vec<Tensor> = grads
            .iter()
            .map(|g| g.to_kind(Kind::Float).norm())
            .collect();
        let total = f64::try_from(Tensor::stack(&norms, 0).norm()).unwrap_or(f64::NAN);
        let coef = max_norm / (total + 1e-6);
        if coef < 1.0 {
            for mut g in grads {
                let _ = g.g_mul_scalar_(coef);
            }
        }
        total
    }

    /// One AdamW update at learning rate `lr` (PyTorch's `_single_tensor_adamw`).
    pub fn step(&mut self, lr: f64) {
        let _guard = tch::no_grad_guard();
        self.step += 1;
        let t = self.step as i32;
        let (b1, b2) = (self.cfg.beta1, self.cfg.beta2);
        let bias1 = 1.0 - b1.powi(t);
        let bias2 = 1.0 - b2.powi(t);
        for (name, p) in self.params.iter_mut() {
            let g = p.grad();
            if !g.defined() {
                continue;
            }
            let _ = p.g_mul_scalar_(1.0 - lr * self.cfg.weight_decay);
            let m = self.exp_avg.get_mut(name).expect("state for every param");
            let _ = m.lerp_(&g, 1.0 - b1);
            let v = self
                .exp_avg_sq
                .get_mut(name)
                .expect("state for every param");
            let _ = v.g_mul_scalar_(b2).g_add_(&(&g * &g * (1.0 - b2)));
            let denom = v.sqrt() / bias2.sqrt() + self.cfg.eps;
            let _ = p.g_add_(&(&*m / &denom * (-lr / bias1)));
        }
    }

    /// The optimiser state as named tensors (`exp_avg.<param>`, `exp_avg_sq.<param>`).
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let m = self
            .exp_avg
            .iter()
            .map(|(n, t)| (format!("exp_avg.{n}"), t.shallow_clone()));
        let v = self
            .exp_avg_sq
            .iter()
            .map(|(n, t)| (format!("exp_avg_sq.{n}"), t.shallow_clone()));
        m.chain(v).collect()
    }

    /// Restores state saved by [`AdamW::state_tensors`] at update count `step`; lists
    /// every missing or mis-shaped tensor on failure.
    pub fn load_state(
        &mut self,
        tensors: &[(String, Tensor)],
        step: u64,
    ) -> Result<(), Vec<String>> {
        let saved: BTreeMap<&str, &Tensor> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let mut problems = Vec::new();
        for (prefix, state) in [("exp_avg", &self.exp_avg), ("exp_avg_sq", &self.exp_avg_sq)] {
            for (name, t) in state {
                let key = format!("{prefix}.{name}");
                match saved.get(key.as_str()) {
                    None => problems.push(format!("missing {key}")),
                    Some(s) if s.size() != t.size() => problems.push(format!(
                        "{key}: shape {:?}, expected {:?}",
                        s.size(),
                        t.size()
                    )),
                    Some(_) => {}
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        tch::no_grad(|| {
            for (prefix, state) in [
                ("exp_avg", &mut self.exp_avg),
                ("exp_avg_sq", &mut self.exp_avg_sq),
            ] {
                for (name, t) in state.iter_mut() {
                    t.copy_(saved[format!("{prefix}.{name}").as_str()]);
                }
            }
        });
        self.step = step;
        Ok(())
    }
}

/// Linear warmup to `peak` over `warmup` steps, then cosine decay to `floor` at `total`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WarmupCosine {
    /// Peak learning rate.
    pub peak: f64,
    /// Final learning rate.
    pub floor: f64,
    /// Warmup steps.
    pub warmup: u64,
    /// Total steps.
    pub total: u64,
}

impl WarmupCosine {
    /// The learning rate for update number `step` (0-based).
    pub fn lr(&self, step: u64) -> f64 {
        if step < self.warmup {
            return self.peak * (step + 1) as f64 / self.warmup as f64;
        }
        let span = self.total.saturating_sub(self.warmup).max(1) as f64;
        let progress = ((step - self.warmup) as f64 / span).min(1.0);
        self.floor
            + 0.5 * (self.peak - self.floor) * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adamw_matches_the_closed_form_of_one_step() {
        // After one step, AdamW moves each weight by lr·sign(g) (|m̂/√v̂| = 1) after decay.
        let p = Tensor::from_slice(&[1.0f32, -2.0, 0.5]).set_requires_grad(true);
        let mut opt = AdamW::new(
            BTreeMap::from([("w".to_owned(), p.shallow_clone())]),
            AdamWConfig::default(),
        );
        let loss = (&p * Tensor::from_slice(&[3.0f32, -1.0, 0.0])).sum(Kind::Float);
        loss.backward();
        opt.step(0.1);
        let got: Vec<f32> = Vec::try_from(p.detach()).unwrap();
        let decay = 1.0 - 0.1 * 1e-3;
        let expected = [1.0 * decay - 0.1, -2.0 * decay + 0.1, 0.5 * decay];
        for (g, e) in got.iter().zip(expected) {
            assert!((*g as f64 - e).abs() < 1e-6, "{got:?} vs {expected:?}");
        }
    }

    #[test]
    fn clipping_bounds_the_global_norm() {
        let a = Tensor::zeros([2], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
        let b = Tensor::zeros([1], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
        let mut opt = AdamW::new(
            BTreeMap::from([
                ("a".to_owned(), a.shallow_clone()),
                ("b".to_owned(), b.shallow_clone()),
            ]),
            AdamWConfig::default(),
        );
        let loss = (&a * Tensor::from_slice(&[3.0f32, 0.0])).sum(Kind::Float)
            + (&b * 4.0).sum(Kind::Float);
        loss.backward();
        let before = opt.clip_grad_norm(1.0);
        assert!((before - 5.0).abs() < 1e-6);
        let after = f64::try_from(Tensor::cat(&[a.grad(), b.grad()], 0).norm()).unwrap();
        assert!((after - 1.0).abs() < 1e-5, "{after}");
    }

    #[test]
    fn schedule_warms_up_then_decays() {
        let s = WarmupCosine {
            peak: 1e-3,
            floor: 0.0,
            warmup: 10,
            total: 110,
        };
        assert!((s.lr(0) - 1e-4).abs() < 1e-12);
        assert!((s.lr(9) - 1e-3).abs() < 1e-12);
        assert!((s.lr(60) - 5e-4).abs() < 1e-9);
        assert!(s.lr(110).abs() < 1e-12 && s.lr(500).abs() < 1e-12);
        assert!((1..200).all(|t| t < 10 || s.lr(t) <= s.lr(t - 1) + 1e-15));
    }
}
