//! Diagnostics: errors about user input, with a span, plain words and an optional hint.
//!
//! The checker collects every problem it finds into a `Vec<Diagnostic>` instead of stopping at
//! the first, so one `llmw check` run reports them all. Rendering (file, line, column, the source
//! line with the offending span underlined) goes through `miette` at the edge; `machine.rs`
//! writes the same diagnostics for tools (JSON, GitHub annotations).

mod machine;

pub use machine::{github, json};

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan, ThemeCharacters,
};

use crate::source::{Sources, Span};

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub message: String,
    pub span: Option<Span>,
    pub label: Option<String>,
    pub help: Option<String>,
    /// Other places worth showing (same file as `span`), e.g. "first given here".
    pub secondary: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span: Some(span),
            label: None,
            help: None,
            secondary: Vec::new(),
        }
    }

    /// An error about no particular place (a missing file on the command line, say).
    pub fn global(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span: None,
            label: None,
            help: None,
            secondary: Vec::new(),
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn also(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.secondary.push((span, label.into()));
        self
    }

    /// `help: did you mean 'x'?` when a suggestion exists.
    pub fn suggest(self, suggestion: Option<&str>) -> Diagnostic {
        match suggestion {
            Some(s) => self.help(format!("did you mean '{s}'?")),
            None => self,
        }
    }
}

/// How diagnostics are drawn: with colour for a terminal, plain for files and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Color,
    Plain,
}

/// Renders diagnostics as text: a header line naming file, line and column, then the source
/// line with the span underlined.
pub fn render(sources: &Sources, diags: &[Diagnostic], style: Style) -> String {
    let mut theme = match style {
        Style::Color => GraphicalTheme::unicode(),
        Style::Plain => GraphicalTheme::unicode_nocolor(),
    };
    // Carets under the offending span, as compilers draw them.
    theme.characters = ThemeCharacters {
        underline: '^',
        underbar: '^',
        ..ThemeCharacters::unicode()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_context_lines(1);
    let mut out = String::new();
    for diag in diags {
        let shown = Shown::new(sources, diag);
        if handler.render_report(&mut out, &shown).is_err() {
            out.push_str(&format!("error: {}\n", diag.message));
        }
    }
    out
}

/// A diagnostic paired with its source, in the shape miette renders.
#[derive(Debug)]
struct Shown {
    header: String,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
}

impl Shown {
    fn new(sources: &Sources, diag: &Diagnostic) -> Shown {
        let Some(span) = diag.span else {
            return Shown {
                header: diag.message.clone(),
                help: diag.help.clone(),
                source: None,
                labels: Vec::new(),
            };
        };
        let file = sources.get(span.file);
        let (line, col) = sources.line_col(span.file, span.start);
        let header = format!("{}:{line}:{col}: {}", file.name, diag.message);
        let mut labels = vec![LabeledSpan::new_with_span(
            Some(diag.label.clone().unwrap_or_else(|| "here".into())),
            to_source_span(span),
        )];
        for (other, text) in &diag.secondary {
            if other.file == span.file {
                labels.push(LabeledSpan::new_with_span(
                    Some(text.clone()),
                    to_source_span(*other),
                ));
            }
        }
        Shown {
            header,
            help: diag.help.clone(),
            source: Some(NamedSource::new(file.name.clone(), file.text.clone())),
            labels,
        }
    }
}

fn to_source_span(span: Span) -> SourceSpan {
    SourceSpan::from((span.start as usize, span.len()))
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header)
    }
}

impl std::error::Error for Shown {}

impl miette::Diagnostic for Shown {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}
