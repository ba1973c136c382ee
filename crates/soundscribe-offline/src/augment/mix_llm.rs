//! Mix captions from an OpenAI-compatible chat endpoint (seed 1 asked ChatGPT with the
//! prompt in [`PROMPT`]). Off by default and never required: every answer is appended to
//! a JSONL cache in the pre-generated mixes format, so a pair is asked once and later
//! runs (and resumed ones) read the same mixes; when the endpoint fails the rules are used.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::augment::mixes_file::MixLine;

/// The seed's instruction, followed by the two captions.
pub const PROMPT: &str =
    "Generate a mix of the following two audio captions, and keep the generation under 25 words:";

/// Where and how to ask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixEndpointConfig {
    /// Base URL of the API, e.g. `http://127.0.0.1:8080/v1` (`/chat/completions` is added).
    pub url: String,
    /// Model name sent with each request.
    pub model: String,
    /// Environment variable holding the API key (sent as a bearer token), if any.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Per-request timeout, seconds.
    #[serde(default = "timeout")]
    pub timeout_s: f64,
}

fn timeout() -> f64 {
    30.0
}

/// A client with its on-disk answer cache.
pub struct MixEndpoint {
    cfg: MixEndpointConfig,
    key: Option<String>,
    agent: ureq::Agent,
    cache_path: PathBuf,
    cache: Mutex<HashMap<(String, String), String>>,
}

impl std::fmt::Debug for MixEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MixEndpoint")
            .field("url", &self.cfg.url)
            .field("model", &self.cfg.model)
            .finish()
    }
}

impl MixEndpoint {
    /// A client for `cfg`, with answers cached in `cache_path` (JSONL, read if present).
    pub fn new(cfg: &MixEndpointConfig, cache_path: &Path) -> anyhow::Result<Self> {
        let mut cache = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(cache_path) {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                // A torn last line (interrupted append) is skipped.
                if let Ok(c) = serde_json::from_str::<MixLine>(line) {
                    let [a, b] = c.captions;
                    cache.insert((a, b), c.mix);
                }
            }
        }
        let key = match &cfg.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                anyhow::anyhow!("augment.mix_endpoint.api_key_env: ${var} is not set")
            })?),
            None => None,
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs_f64(cfg.timeout_s.max(0.1))))
            .build()
            .into();
        Ok(MixEndpoint {
            cfg: cfg.clone(),
            key,
            agent,
            cache_path: cache_path.to_owned(),
            cache: Mutex::new(cache),
        })
    }

    /// The mix of captions `a` and `b`: cached, or asked for (and cached). An error says
    /// why the endpoint gave none.
    pub fn mix(&self, a: &str, b: &str) -> Result<String, String> {
        let k = (a.to_owned(), b.to_owned());
        if let Some(m) = self.cache.lock().map_err(|e| e.to_string())?.get(&k) {
            return Ok(m.clone());
        }
        let m = self.ask(a, b)?;
        let mut cache = self.cache.lock().map_err(|e| e.to_string())?;
        match cache.entry(k) {
            // Another thread asked for the same pair meanwhile: keep the first answer.
            std::collections::hash_map::Entry::Occupied(o) => Ok(o.get().clone()),
            std::collections::hash_map::Entry::Vacant(v) => {
                let line = serde_json::to_string(&MixLine {
                    captions: [a.to_owned(), b.to_owned()],
                    mix: m.clone(),
                })
                .map_err(|e| e.to_string())?;
                let appended = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.cache_path)
                    .and_then(|mut f| writeln!(f, "{line}"));
                if let Err(e) = appended {
                    tracing::warn!(message = "Cannot cache an endpoint mix.", path = %self.cache_path.display(), error = %e);
                }
                v.insert(m.clone());
                Ok(m)
            }
        }
    }

    fn ask(&self, a: &str, b: &str) -> Result<String, String> {
        let url = format!("{}/chat/completions", self.cfg.url.trim_end_matches('/'));
        let body = serde_json::json!({
            "model": self.cfg.model,
            "messages": [{"role": "user", "content": format!("{PROMPT}\n1. {a}\n2. {b}")}],
            "temperature": 0.7,
        });
        let mut req = self.agent.post(&url).content_type("application/json");
        if let Some(k) = &self.key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        let mut resp = req
            .send(body.to_string())
            .map_err(|e| format!("{url}: {e}"))?;
        let text = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("{url}: {e}"))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{url}: not JSON: {e}"))?;
        let content = v["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| format!("{url}: no choices[0].message.content in the answer"))?;
        let mix = content.trim().trim_matches('"').trim().to_owned();
        let words = mix.split_whitespace().count();
        if words == 0 || words > 40 || mix.contains('\n') {
            return Err(format!("{url}: unusable mix ({words} words): {mix:?}"));
        }
        Ok(mix)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use rand_core::SeedableRng;

    use super::*;
    use crate::augment::mixup::MixCaptioner;

    /// A real HTTP server on loopback answering `/v1/chat/completions` like an
    /// OpenAI-compatible one; `status` 200 answers `mix`, others fail.
    fn server(
        status: u16,
        mix: &'static str,
    ) -> (String, Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>) {
        let srv = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", srv.server_addr().to_ip().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let (h, b) = (hits.clone(), bodies.clone());
        std::thread::spawn(move || {
            for mut req in srv.incoming_requests() {
                h.fetch_add(1, Ordering::SeqCst);
                let mut body = String::new();
                req.as_reader().read_to_string(&mut body).unwrap();
                let auth = req
                    .headers()
                    .iter()
                    .find(|x| x.field.equiv("Authorization"))
                    .map(|x| x.value.to_string())
                    .unwrap_or_default();
                b.lock()
                    .unwrap()
                    .push(format!("{} {auth} {body}", req.url()));
                let answer = serde_json::json!({"choices": [{"message": {"role": "assistant", "content": mix}}]});
                let _ = req.respond(
                    tiny_http::Response::from_string(answer.to_string()).with_status_code(status),
                );
            }
        });
        (url, hits, bodies)
    }

    fn cfg(url: &str, key_env: Option<&str>) -> MixEndpointConfig {
        MixEndpointConfig {
            url: url.to_owned(),
            model: "mixer-1".into(),
            api_key_env: key_env.map(str::to_owned),
            timeout_s: 10.0,
        }
    }

    #[test]
    fn the_endpoint_is_asked_once_per_pair_and_its_answers_persist() {
        let (url, hits, bodies) = server(200, " \"A bell rings while a bird chirps.\" ");
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("mix-endpoint.jsonl");
        std::env::set_var("SOUNDSCRIBE_TEST_MIX_KEY", "sk-test");
        let e = Arc::new(
            MixEndpoint::new(&cfg(&url, Some("SOUNDSCRIBE_TEST_MIX_KEY")), &cache).unwrap(),
        );
        let mc = MixCaptioner::default().with_endpoint(e);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        for _ in 0..3 {
            let c = mc
                .caption("a bell rings", "a bird chirps", &mut rng, None)
                .unwrap();
            assert_eq!(c, "A bell rings while a bird chirps.");
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1, "asked once, then cached");
        let seen = bodies.lock().unwrap()[0].clone();
        assert!(
            seen.starts_with("/v1/chat/completions Bearer sk-test "),
            "{seen}"
        );
        assert!(
            seen.contains(PROMPT)
                && seen.contains("1. a bell rings")
                && seen.contains("2. a bird chirps")
                && seen.contains("mixer-1"),
            "{seen}"
        );
        // A new client reads the cache: no request.
        let again = MixEndpoint::new(&cfg(&url, None), &cache).unwrap();
        assert_eq!(
            again.mix("a bell rings", "a bird chirps").unwrap(),
            "A bell rings while a bird chirps."
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_failing_endpoint_falls_back_to_the_rules() {
        let (url, hits, _) = server(500, "unused");
        let dir = tempfile::tempdir().unwrap();
        let e = MixEndpoint::new(&cfg(&url, None), &dir.path().join("c.jsonl")).unwrap();
        let err = e.mix("rain falls", "a dog barks").unwrap_err();
        assert!(err.contains("500"), "{err}");
        let mc = MixCaptioner::default().with_endpoint(Arc::new(e));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let c = mc
            .caption("rain falls", "a dog barks", &mut rng, None)
            .unwrap();
        assert!(c.contains("rain falls") && c.contains("a dog barks"), "{c}");
        assert!(hits.load(Ordering::SeqCst) >= 2);
        // A missing key variable is a clear error.
        let missing = MixEndpoint::new(
            &cfg(&url, Some("SOUNDSCRIBE_TEST_NO_SUCH_VAR")),
            &dir.path().join("d.jsonl"),
        );
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("SOUNDSCRIBE_TEST_NO_SUCH_VAR"));
    }
}
