//! A conversation's prompt: the system prompt, the kept earlier turns (user text or a tool's
//! result, then the reply or a tool call), then the turn's new text, as chat-form messages that
//! each dialect turns into its own form.

use super::tools::{call, Call};
use super::{prefix_words, prompt, turn_words, Prompt};
use crate::schedule::{PlannedRequest, Schedule};

/// An earlier turn's reply as the server sent it (`history = live`): its text and tokens.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reply {
    pub text: String,
    pub tokens: u32,
}

/// The prompt of `session[index]`, a request of a conversation whose requests (in plan order)
/// are `session`, and its length in tokens: the system prompt, then for each kept earlier turn
/// its user text and reply (branch 0's), then the request's new user text. With `live` (one
/// entry per earlier turn: the server's reply) the real replies are carried and `max_context`
/// is applied to their real lengths; otherwise the plan's own replies and `first_turn` are.
///
/// In an agent session (`tool_result`) every earlier turn's reply is its planned call to one of
/// the session's tools, and each later turn's text is that call's result (`role: tool`); a
/// result whose call `max_context` dropped goes as user text, since a server takes no result
/// without its call.
pub fn conversation(
    schedule: &Schedule,
    session: &[PlannedRequest],
    index: usize,
    live: Option<(&[Reply], Option<u32>)>,
) -> (Prompt, u32) {
    use serde_json::json;
    let seed = schedule.seed;
    let r = &session[index];
    let Some(me) = r.session else {
        return (Prompt::Text(prompt(seed, r)), r.input_tokens);
    };
    // Branch 0 of every earlier turn, in turn order.
    let earlier: Vec<&PlannedRequest> = session
        .iter()
        .filter(|q| q.session.is_some_and(|t| t.branch == 0 && t.turn < me.turn))
        .collect();
    let lens: Vec<u32> = earlier
        .iter()
        .enumerate()
        .map(|(j, q)| {
            let new = q.session.map_or(0, |t| t.new_tokens);
            let reply = match live {
                Some((replies, _)) => replies.get(j).map_or(0, |x| x.tokens),
                None => q.output_tokens,
            };
            new.saturating_add(reply)
        })
        .collect();
    let first = match live {
        Some((_, max)) => {
            crate::schedule::content::kept_from(&lens, r.prefix_tokens, me.new_tokens, max)
        }
        None => me.first_turn,
    } as usize;
    let tools = agent_tools(schedule, r);
    // The planned call of each kept earlier turn, in an agent session.
    let calls: Vec<Option<Call>> = earlier
        .iter()
        .enumerate()
        .map(|(j, q)| match &tools {
            Some(t) if j >= first => Some(call(seed, q, t)),
            _ => None,
        })
        .collect();
    // A turn's text: the result of the previous turn's call when that call is in the context.
    let said = |j: usize, text: String| match j.checked_sub(1).and_then(|k| calls[k].as_ref()) {
        Some(c) if j > first => json!({"role": "tool", "tool_call_id": c.id, "content": text}),
        _ => json!({"role": "user", "content": text}),
    };
    let mut messages = Vec::with_capacity(2 + 2 * earlier.len());
    let mut tokens = r.prefix_tokens as u64 + me.new_tokens as u64;
    if let Some(group) = r.prefix_group {
        let mut system = String::with_capacity(r.prefix_tokens as usize * 7);
        prefix_words(seed, group, r.prefix_tokens, &mut system);
        messages.push(json!({"role": "system", "content": system.trim_start()}));
    }
    for (j, q) in earlier.iter().enumerate().skip(first) {
        let new = q.session.map_or(0, |t| t.new_tokens);
        messages.push(said(j, turn_words(seed, 1, q.id, new)));
        messages.push(match (&calls[j], live) {
            (Some(c), _) => c.message(),
            (None, Some((replies, _))) => {
                let text = replies.get(j).map(|x| x.text.clone()).unwrap_or_default();
                json!({"role": "assistant", "content": text})
            }
            (None, None) => {
                json!({"role": "assistant", "content": turn_words(seed, 5, q.id, q.output_tokens)})
            }
        });
        tokens += lens[j] as u64;
    }
    messages.push(said(
        earlier.len(),
        turn_words(seed, 1, r.id, me.new_tokens),
    ));
    (
        Prompt::Conversation(serde_json::Value::Array(messages)),
        tokens.min(crate::schedule::sample::MAX_LENGTH as u64) as u32,
    )
}

/// The tools an agent session's turns call (`tool_result` with `tools`), or `None`.
fn agent_tools(schedule: &Schedule, r: &PlannedRequest) -> Option<Vec<super::Tool>> {
    schedule
        .class_plan(r)?
        .session
        .as_ref()?
        .tool_result
        .as_ref()?;
    let tools = super::tools(schedule, r);
    (!tools.is_empty()).then_some(tools)
}
