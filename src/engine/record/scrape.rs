//! Scraping the server's Prometheus endpoint while a run goes: every second, every sample of
//! the text exposition format into `server_metrics.parquet` (`at_ns` on the run's clock, `name`,
//! `labels`, `value`). A server without the endpoint is noted in `run.json`, never an error.

use std::sync::{mpsc, Arc};
use std::time::Duration;

use crate::engine::record::writer::Msg;
use crate::engine::wire::clock::Clock;
use crate::engine::wire::http::HttpClient;
use crate::rundir::record::MetricRow;

/// Time between scrapes.
pub const EVERY: Duration = Duration::from_secs(1);
/// A scrape that takes longer than this is abandoned (and counted as failed).
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);
/// The scrape at the end of the run waits at most this long.
const FINAL_TIMEOUT: Duration = Duration::from_millis(500);
/// A metrics page over this size is not read.
const MAX_PAGE: usize = 8 << 20;

/// Where the metrics come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Metrics {
    /// `<target>/metrics`, for every target.
    #[default]
    Default,
    /// Another URL (`--metrics-url`): one page for every target.
    Url(String),
    /// One URL per target, in the targets' order (`--metrics-url` once per `--target`).
    Each(Vec<String>),
    /// Not scraped (`--no-metrics`).
    Off,
}

/// How the scraping went, for `run.json`.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub url: String,
    pub scrapes: u64,
    pub failures: u64,
    pub samples: u64,
    /// Why nothing was recorded (the first scrape failed).
    pub unavailable: Option<String>,
}

impl Outcome {
    pub fn to_manifest(&self) -> crate::rundir::manifest::ServerMetrics {
        crate::rundir::manifest::ServerMetrics {
            off: false,
            url: Some(self.url.clone()),
            scrapes: self.scrapes,
            failed_scrapes: self.failures,
            samples: self.samples,
            unavailable: self.unavailable.clone(),
        }
    }
}

/// The scrape of every page as `run.json`'s `server_metrics` says it: one page's own, or the
/// pages' counts summed (the URL is each target's, in `fleet`), unavailable only when every
/// page was.
pub fn combined(outcomes: &[Outcome]) -> crate::rundir::manifest::ServerMetrics {
    if let [one] = outcomes {
        return one.to_manifest();
    }
    let unavailable: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.unavailable.as_ref().map(|e| format!("{}: {e}", o.url)))
        .collect();
    crate::rundir::manifest::ServerMetrics {
        off: false,
        url: None,
        scrapes: outcomes.iter().map(|o| o.scrapes).sum(),
        failed_scrapes: outcomes.iter().map(|o| o.failures).sum(),
        samples: outcomes.iter().map(|o| o.samples).sum(),
        unavailable: (unavailable.len() == outcomes.len()).then(|| unavailable.join("; ")),
    }
}

/// One sample of the exposition format: `name{labels} value [timestamp]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    /// The label set as written, without the braces (`model_name="x",le="0.5"`).
    pub labels: &'a str,
    pub value: f64,
}

/// The samples of a metrics page (comments, blank and malformed lines skipped).
pub fn parse(text: &str) -> Vec<Sample<'_>> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Sample<'_>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (name, labels, rest) = match line.find(['{', ' ', '\t']) {
        Some(i) if line.as_bytes()[i] == b'{' => {
            let close = closing_brace(line, i)?;
            (&line[..i], &line[i + 1..close], &line[close + 1..])
        }
        Some(i) => (&line[..i], "", &line[i..]),
        None => return None,
    };
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    (!name.is_empty()).then_some(Sample {
        name,
        labels,
        value,
    })
}

/// The `}` that closes the label set opened at `open`, skipping quoted values.
fn closing_brace(line: &str, open: usize) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line[open + 1..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(open + 1 + i),
            _ => {}
        }
    }
    None
}

/// `http://host:port/path` → (base URL, path).
pub fn split_url(url: &str) -> Result<(String, String), String> {
    let u: hyper::Uri = url
        .parse()
        .map_err(|e| format!("invalid --metrics-url '{url}': {e}"))?;
    let scheme = u
        .scheme_str()
        .ok_or_else(|| format!("--metrics-url '{url}' needs http:// or https://"))?;
    let authority = u
        .authority()
        .ok_or_else(|| format!("--metrics-url '{url}' has no host"))?;
    let path = u.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    Ok((format!("{scheme}://{authority}"), path.to_string()))
}

/// One scrape: the page's samples, or why there are none.
async fn scrape_once(source: &Source, at: u64) -> Result<Vec<MetricRow>, String> {
    let http = &source.http;
    let sent = http
        .send(
            hyper::Method::GET,
            &source.path,
            &[("accept", "text/plain")],
            b"",
        )
        .await?;
    let mut resp = sent.response;
    let status = resp.status;
    if !status.is_success() {
        return Err(format!(
            "HTTP {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
        .trim_end()
        .to_string());
    }
    let bytes = resp
        .body
        .read_to_end(MAX_PAGE)
        .await
        .map_err(|e| format!("reading the page: {e}"))?;
    http.release(resp.body);
    let text = String::from_utf8_lossy(&bytes);
    let rows: Vec<MetricRow> = parse(&text)
        .into_iter()
        .map(|s| MetricRow {
            at_ns: at,
            name: s.name.to_string(),
            labels: s.labels.to_string(),
            value: s.value,
            target: source.target.clone(),
        })
        .collect();
    if rows.is_empty() {
        return Err("the page holds no samples".into());
    }
    Ok(rows)
}

/// One metrics page to scrape: its client and path, its URL as `run.json` records it, and the
/// target its samples are labelled with (`None`: one page for the whole fleet).
pub struct Source {
    pub http: HttpClient,
    pub path: String,
    pub url: String,
    pub target: Option<Arc<str>>,
}

/// Scrapes every source every [`EVERY`] until `stop` turns true, sending rows to the writer;
/// one outcome per source, in order. The sources of one round are scraped together and their
/// samples share its `at_ns`, so a fleet's gauges add up scrape by scrape. A source whose first
/// scrape fails is noted and left alone; the others go on.
pub async fn run(
    sources: Vec<Source>,
    clock: Clock,
    writer: mpsc::SyncSender<Msg>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<Outcome> {
    let mut out: Vec<Outcome> = sources
        .iter()
        .map(|s| Outcome {
            url: s.url.clone(),
            ..Outcome::default()
        })
        .collect();
    let mut next = tokio::time::Instant::now();
    loop {
        let at = clock.now();
        // The last scrape, after the run, must not hold up its end (a signal's 2 s).
        let limit = if *stop.borrow() {
            FINAL_TIMEOUT
        } else {
            SCRAPE_TIMEOUT
        };
        let live: Vec<usize> = (0..sources.len())
            .filter(|&i| out[i].unavailable.is_none())
            .collect();
        if live.is_empty() {
            return out;
        }
        let sources = &sources;
        let results = futures_util::future::join_all(live.iter().map(|&i| async move {
            tokio::time::timeout(limit, scrape_once(&sources[i], at))
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {limit:?}")))
        }))
        .await;
        for (i, result) in live.into_iter().zip(results) {
            let o = &mut out[i];
            o.scrapes += 1;
            match result {
                Ok(rows) => {
                    o.samples += rows.len() as u64;
                    // The writer's queue is bounded; a full queue drops this scrape, not the run.
                    if writer.try_send(Msg::Metrics(rows)).is_err() {
                        o.failures += 1;
                    }
                }
                Err(e) if o.samples == 0 && o.scrapes == 1 => o.unavailable = Some(e),
                Err(_) => o.failures += 1,
            }
        }
        if *stop.borrow() {
            return out;
        }
        next += EVERY;
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            // One last scrape at the end, so even a run shorter than a second has its state.
            _ = crate::engine::record::stop::until_set(&mut stop) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_exposition_format() {
        let page = "# HELP x help\n# TYPE vllm:num_requests_running gauge\n\
            vllm:num_requests_running{model_name=\"m\"} 3\n\
            llamacpp:kv_cache_usage_ratio 0.25\n\
            h_bucket{le=\"+Inf\",path=\"a}b\"} 7 1700000000\n\
            bad line\n\nnan_metric NaN\n";
        let s = parse(page);
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].name, "vllm:num_requests_running");
        assert_eq!(s[0].labels, "model_name=\"m\"");
        assert_eq!(s[0].value, 3.0);
        assert_eq!(s[1].labels, "");
        assert_eq!(s[1].value, 0.25);
        assert_eq!(s[2].labels, "le=\"+Inf\",path=\"a}b\"");
        assert_eq!(s[2].value, 7.0);
        assert!(s[3].value.is_nan());
    }

    #[test]
    fn urls_split_into_base_and_path() {
        assert_eq!(
            split_url("http://h:9/metrics").expect("ok"),
            ("http://h:9".to_string(), "/metrics".to_string())
        );
        assert!(split_url("h:9/metrics").is_err());
    }
}
