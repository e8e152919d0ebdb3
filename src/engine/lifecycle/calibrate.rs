//! Measuring the chat template before a run: the tokens a server adds around the user's text
//! (role markers, a default system prompt), so synthesized chat prompts can be shortened by them
//! and the server counts the planned `input` tokens (`prompt_tokens = exact`, the default).
//!
//! Two non-streamed probes with 16 and 80 words of synthesized text and `max_tokens = 1`; the
//! server's `usage.prompt_tokens` for each gives the overhead (intercept) and the tokens per
//! word (slope, 1 when the word list is one token per word under the model's tokenizer).

use crate::engine::dialect::Ask;
use crate::engine::request::{Failure, Sender};
use crate::prompt::Prompt;
use crate::rundir::manifest;
use crate::rundir::record::ErrorKind;
use crate::schedule::Api;

/// Words in the two probes.
const PROBES: [u32; 2] = [16, 80];
/// Plan ids of the probes' request UUIDs (beyond any plan's own ids).
pub const PROBE_IDS: [u64; 2] = [999_999_999_999_998, 999_999_999_999_999];
/// The longest probe answer read.
const ANSWER_BYTES: usize = 1 << 20;

/// What the probes found.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Prompt tokens the server counted for each probe, with its words.
    pub probes: Vec<(u32, u32)>,
    /// Tokens the template adds (the intercept), at least 0.
    pub overhead: u32,
    /// Prompt tokens per synthesized word (the slope).
    pub tokens_per_word: f64,
}

impl Calibration {
    pub fn to_manifest(&self) -> manifest::PromptCalibration {
        manifest::PromptCalibration {
            mode: manifest::PromptTokens::Exact,
            overhead_tokens: self.overhead,
            tokens_per_word: Some(self.tokens_per_word),
            probes: self
                .probes
                .iter()
                .map(|&(words, prompt_tokens)| manifest::Probe {
                    words,
                    prompt_tokens,
                })
                .collect(),
            note: None,
            failed: None,
        }
    }
}

/// Sends the probes to replica `replica` as the run's requests of `api` go (its dialect,
/// headers and key); an error says why the overhead could not be measured, with the run's
/// secrets redacted.
pub async fn measure(sender: &Sender, replica: usize, api: Api) -> Result<Calibration, String> {
    let http = &sender.replicas[replica].http;
    let mut probes = Vec::new();
    let failed = |kind, message: String| Failure::new(kind, message).recorded(sender.secrets());
    let dialect = sender.lane(api).dialect;
    for (words, id) in PROBES.iter().zip(PROBE_IDS) {
        let body = dialect
            .body(Ask {
                model: &sender.model,
                prompt: Prompt::Text(crate::prompt::probe_text(*words)),
                max_tokens: 1,
                stream: false,
                ignore_eos: false,
                temperature: None,
                images: Vec::new(),
                tools: Vec::new(),
                tool_choice: None,
            })
            .to_string();
        let uuid = sender.nonce.uuid(id);
        let auth = sender.auth(api);
        let headers = sender.headers(&uuid, &auth);
        let sent = http
            .send(
                hyper::Method::POST,
                dialect.route(),
                &headers,
                body.as_bytes(),
            )
            .await
            .map_err(|e| failed(e.kind, e.message))?;
        let mut resp = sent.response;
        let status = resp.status;
        let bytes = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            resp.body.read_to_end(ANSWER_BYTES),
        )
        .await
        .map_err(|_| "no answer within 60 s".to_string())?
        .map_err(|e| failed(ErrorKind::Stream, e))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            return Err(failed(
                ErrorKind::HttpStatus,
                format!("HTTP {}: {}", status.as_u16(), text.trim()),
            ));
        }
        http.release(resp.body);
        let answer = dialect
            .whole(&bytes)
            .map_err(|e| failed(ErrorKind::Decode, format!("not JSON: {e}")))?;
        let tokens = answer
            .usage
            .prompt
            .ok_or("the response says no prompt token count in its usage")?;
        probes.push((*words, tokens));
    }
    Ok(fit(probes))
}

/// The line through the two probes.
pub fn fit(probes: Vec<(u32, u32)>) -> Calibration {
    let (w0, t0) = (probes[0].0 as f64, probes[0].1 as f64);
    let (w1, t1) = (probes[1].0 as f64, probes[1].1 as f64);
    let slope = (t1 - t0) / (w1 - w0);
    let overhead = (t0 - slope * w0).round().max(0.0) as u32;
    Calibration {
        probes,
        overhead,
        tokens_per_word: slope,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_finds_intercept_and_slope() {
        let c = fit(vec![(16, 46), (80, 110)]);
        assert_eq!(c.overhead, 30);
        assert!((c.tokens_per_word - 1.0).abs() < 1e-12);
        let c = fit(vec![(16, 9), (80, 73)]);
        assert_eq!(c.overhead, 0, "never negative");
    }
}
