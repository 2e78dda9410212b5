//! The desktop app's IPC policy (`policy/ipc.json`): the commands the UI may
//! call and the shape of every argument. One file feeds every gate:
//!
//! - the isolation hook reads `dist-isolation/policy.js`, rendered from it by
//!   [`Policy::render_js`] (a test fails if the two differ);
//! - `tauri_build` generates the ACL permissions from its command names, and a
//!   test checks that the capability grants exactly those;
//! - Rust repeats [`Policy::check`] on every call before any argument is parsed;
//! - `coffer policy` and the app's audit page print it with [`Policy::table`].
//!
//! No Tauri here: the rules are data, checked the same way in JS and in Rust.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The policy file, compiled in.
pub const POLICY_JSON: &str = include_str!("../../../policy/ipc.json");

/// How a channel argument looks on the wire: `__CHANNEL__:<callback id>`.
pub const CHANNEL_PATTERN: &str = "^__CHANNEL__:[0-9]{1,10}$";

/// The whole policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// What the file is, for a reader.
    pub about: String,
    /// Format version of the policy file.
    pub version: u32,
    /// Every command the UI may call, nothing else.
    pub commands: Vec<CommandRule>,
}

/// One command the UI may call.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CommandRule {
    /// The command's name, as registered in Rust.
    pub name: String,
    /// What it does, for the auditor.
    pub purpose: String,
    /// Only the isolation hook may produce this call (by rewriting a refused
    /// one); the hook refuses it when the UI sends it itself.
    #[serde(default)]
    pub hook_only: bool,
    /// Its arguments: exactly these keys, each of this shape.
    pub args: BTreeMap<String, ArgRule>,
}

/// The shape of one argument.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ArgRule {
    /// A string of well-formed Unicode with no NUL, measured in UTF-8 bytes.
    #[serde(rename_all = "camelCase")]
    String {
        /// Fewest bytes.
        #[serde(default)]
        min_bytes: usize,
        /// Most bytes.
        #[serde(default = "default_max_bytes")]
        max_bytes: usize,
        /// A regular expression the whole string must match (anchored in the
        /// pattern itself; kept to what JS and Rust read alike).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
    },
    /// A whole number (JSON number without fraction) in a range.
    Integer {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// An array of items of one shape.
    #[serde(rename_all = "camelCase")]
    Array {
        /// Most items.
        max_items: usize,
        /// Every item's shape.
        items: Box<ArgRule>,
    },
    /// A Tauri channel: the string `__CHANNEL__:<id>`.
    Channel,
}

fn default_max_bytes() -> usize {
    1024
}

/// Why a call was refused. The codes are shared with the isolation hook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The command is not in the policy.
    #[error("this command is not in Coffer's IPC policy")]
    UnknownCommand,
    /// Only the hook may send this command.
    #[error("only the isolation layer may send this command")]
    HookOnly,
    /// The message itself is malformed (payload not an object, and so on).
    #[error("the message is malformed")]
    BadMessage,
    /// Options (custom headers) were attached; no Coffer command takes any.
    #[error("no Coffer command takes IPC options")]
    BadOptions,
    /// An argument the policy requires is missing.
    #[error("argument `{0}` is missing")]
    MissingArgument(String),
    /// An argument the policy does not list was sent.
    #[error("an argument the policy does not list was sent")]
    ExtraArgument,
    /// An argument does not have the shape the policy gives.
    #[error("argument `{0}` does not have the required type, length or form")]
    BadArgument(String),
    /// The payload carries no binding: it did not pass the isolation hook
    /// (an empty body, which Tauri never decrypts, or a hand-made message).
    #[error("the call carries no proof that it passed the isolation hook")]
    Unbound,
    /// The binding names another command (a ciphertext replayed under it).
    #[error("the call was approved for another command")]
    WrongCommand,
    /// The binding's session and sequence number were used already, or the
    /// session was replaced by a newer page (a replay).
    #[error("the call was made already, or belongs to a page that was replaced")]
    Replayed,
}

impl Refusal {
    /// Stable code (also the `reason` the hook reports).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::UnknownCommand => "unknown_command",
            Refusal::HookOnly => "hook_only",
            Refusal::BadMessage => "bad_message",
            Refusal::BadOptions => "bad_options",
            Refusal::MissingArgument(_) => "missing_argument",
            Refusal::ExtraArgument => "extra_argument",
            Refusal::BadArgument(_) => "bad_argument",
            Refusal::Unbound => "unbound",
            Refusal::WrongCommand => "wrong_command",
            Refusal::Replayed => "replayed",
        }
    }
}

/// The key under which the hook binds a call, inside the encrypted payload:
/// `{"cmd": <the command>, "session": <32 hex digits, new per page load>,
/// "seq": <1, 2, 3… within the session>}`.
pub const BINDING_KEY: &str = "__call";

/// A call's binding, as the hook wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// The page load's session id.
    pub session: [u8; 16],
    /// The call's number in that session, from 1.
    pub seq: u64,
}

/// Splits the hook's binding off `payload` for command `cmd`: the binding
/// (which must name `cmd`) and the arguments without it.
pub fn unbind(cmd: &str, payload: &Value) -> Result<(Binding, Value), Refusal> {
    let mut obj = payload.as_object().ok_or(Refusal::BadMessage)?.clone();
    let b = obj.remove(BINDING_KEY).ok_or(Refusal::Unbound)?;
    let b = b.as_object().ok_or(Refusal::Unbound)?;
    if b.len() != 3 {
        return Err(Refusal::Unbound);
    }
    if b.get("cmd").and_then(Value::as_str) != Some(cmd) {
        return Err(Refusal::WrongCommand);
    }
    let session = b
        .get("session")
        .and_then(Value::as_str)
        .filter(|s| s.len() == 32 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
        .and_then(crate::crypto::unhex)
        .and_then(|v| <[u8; 16]>::try_from(v).ok())
        .ok_or(Refusal::Unbound)?;
    let seq = b
        .get("seq")
        .and_then(Value::as_u64)
        .filter(|&n| (1..=1 << 53).contains(&n))
        .ok_or(Refusal::Unbound)?;
    Ok((Binding { session, seq }, Value::Object(obj)))
}

/// Which bindings Rust has seen: each call is admitted once, in its page's
/// session, and a session that was replaced never comes back.
///
/// Calls may reach Rust slightly out of order (several in flight at once),
/// so within the current session a number is admitted if it is newer than
/// any seen, or among the last [`CallWindow::WIDTH`] and not seen yet (the
/// anti-replay window of IPsec, RFC 4303 §3.4.3); anything older, or seen,
/// is a replay.
#[derive(Debug, Default)]
pub struct CallWindow {
    current: Option<[u8; 16]>,
    highest: u64,
    /// Bit i: `highest - i` was seen.
    seen: u64,
    retired: std::collections::HashSet<[u8; 16]>,
}

impl CallWindow {
    /// How far back a late call may arrive.
    pub const WIDTH: u64 = 64;

    /// Admits `b` once, or refuses it as a replay.
    pub fn admit(&mut self, b: Binding) -> Result<(), Refusal> {
        if self.current != Some(b.session) {
            if self.retired.contains(&b.session) {
                return Err(Refusal::Replayed);
            }
            // A new page: the previous session never comes back.
            if let Some(old) = self.current.replace(b.session) {
                self.retired.insert(old);
            }
            (self.highest, self.seen) = (b.seq, 1);
            return Ok(());
        }
        if b.seq > self.highest {
            let shift = b.seq - self.highest;
            self.seen = if shift >= Self::WIDTH {
                0
            } else {
                self.seen << shift
            };
            self.seen |= 1;
            self.highest = b.seq;
            return Ok(());
        }
        let back = self.highest - b.seq;
        if back >= Self::WIDTH || self.seen >> back & 1 == 1 {
            return Err(Refusal::Replayed);
        }
        self.seen |= 1 << back;
        Ok(())
    }
}

/// The policy compiled into this build.
pub fn policy() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(|| {
        // The file is part of the source tree and parsed by a unit test below
        // and by the app's build script, so a bad file never reaches a build.
        serde_json::from_str(POLICY_JSON).expect("policy/ipc.json is a valid policy")
    })
}

impl Policy {
    /// The rule for `name`, if the policy lists it.
    pub fn command(&self, name: &str) -> Option<&CommandRule> {
        self.commands.iter().find(|c| c.name == name)
    }

    /// Checks a call as Rust receives it: the command is listed and `payload`
    /// has exactly its arguments, each of its shape. (The hook checks the same,
    /// and also refuses `hook_only` commands and options from the UI.)
    pub fn check(&self, cmd: &str, payload: &Value) -> Result<&CommandRule, Refusal> {
        let rule = self.command(cmd).ok_or(Refusal::UnknownCommand)?;
        let obj = payload.as_object().ok_or(Refusal::BadMessage)?;
        if obj.keys().any(|k| !rule.args.contains_key(k)) {
            return Err(Refusal::ExtraArgument);
        }
        for (name, arg) in &rule.args {
            let v = obj
                .get(name)
                .ok_or_else(|| Refusal::MissingArgument(name.clone()))?;
            if !arg.accepts(v) {
                return Err(Refusal::BadArgument(name.clone()));
            }
        }
        Ok(rule)
    }

    /// The policy as the isolation hook loads it (`dist-isolation/policy.js`).
    pub fn render_js(&self) -> String {
        let commands: BTreeMap<&str, Value> = self
            .commands
            .iter()
            .map(|c| {
                let v = serde_json::json!({ "hookOnly": c.hook_only, "args": c.args });
                (c.name.as_str(), v)
            })
            .collect();
        let body = serde_json::to_string_pretty(&serde_json::json!({
            "channelPattern": CHANNEL_PATTERN,
            "commands": commands,
        }))
        .expect("a policy always serializes");
        format!(
            "// Rendered from policy/ipc.json by coffer_core::ipc_policy (`coffer policy --js`).\n\
             // Do not edit: a test fails when this file and the policy differ.\n\
             var COFFER_POLICY = {body};\n"
        )
    }

    /// The policy as plain text, for `coffer policy` and auditors: each
    /// command with its purpose, then one line per argument.
    pub fn table(&self) -> String {
        let w = self
            .commands
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(0)
            + 2;
        let mut out = format!("{:<w$}PURPOSE / ARGUMENTS\n", "COMMAND");
        for c in &self.commands {
            let hook = if c.hook_only {
                " [isolation hook only]"
            } else {
                ""
            };
            out.push_str(&format!("{:<w$}{}{hook}\n", c.name, c.purpose));
            if c.args.is_empty() {
                out.push_str(&format!("{:<w$}  (no arguments)\n", ""));
            }
            for (k, a) in &c.args {
                out.push_str(&format!("{:<w$}  {k}: {}\n", "", a.describe()));
            }
        }
        out.push_str(
            "\nEverything else is refused: by the isolation hook, by the ACL (no other \
             permission is granted), and again by Rust.\n",
        );
        out
    }
}

impl ArgRule {
    /// Whether `v` has this shape.
    pub fn accepts(&self, v: &Value) -> bool {
        match self {
            ArgRule::String {
                min_bytes,
                max_bytes,
                pattern,
            } => match v.as_str() {
                Some(s) => {
                    s.len() >= *min_bytes
                        && s.len() <= *max_bytes
                        && !s.contains('\0')
                        && pattern.as_deref().is_none_or(|p| matches(p, s))
                }
                None => false,
            },
            ArgRule::Integer { min, max } => {
                v.as_i64().is_some_and(|n| n >= *min && n <= *max) && !v.is_f64()
            }
            ArgRule::Array { max_items, items } => v
                .as_array()
                .is_some_and(|a| a.len() <= *max_items && a.iter().all(|i| items.accepts(i))),
            ArgRule::Channel => v.as_str().is_some_and(|s| {
                matches(CHANNEL_PATTERN, s)
                    && s.rsplit(':')
                        .next()
                        .and_then(|n| n.parse::<u32>().ok())
                        .is_some()
            }),
        }
    }

    /// A short human description, for the table.
    pub fn describe(&self) -> String {
        match self {
            ArgRule::String {
                min_bytes,
                max_bytes,
                pattern,
            } => match pattern {
                Some(p) => format!("string matching {p}"),
                None => format!("string of {min_bytes}-{max_bytes} bytes"),
            },
            ArgRule::Integer { min, max } => format!("integer {min}-{max}"),
            ArgRule::Array { max_items, items } => {
                format!("up to {max_items} × {}", items.describe())
            }
            ArgRule::Channel => "channel".to_owned(),
        }
    }
}

fn matches(pattern: &str, s: &str) -> bool {
    static CACHE: OnceLock<std::sync::Mutex<BTreeMap<String, regex::Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = match cache.lock() {
        Ok(c) => c,
        Err(poisoned) => poisoned.into_inner(),
    };
    if !cache.contains_key(pattern) {
        match regex::Regex::new(pattern) {
            Ok(re) => {
                cache.insert(pattern.to_owned(), re);
            }
            // A pattern that does not compile accepts nothing.
            Err(_) => return false,
        }
    }
    cache.get(pattern).is_some_and(|re| re.is_match(s))
}

#[cfg(test)]
mod binding_tests {
    use super::*;
    use serde_json::json;

    const S1: &str = "0123456789abcdef0123456789abcdef";
    const S2: &str = "fedcba9876543210fedcba9876543210";

    fn bound(cmd: &str, session: &str, seq: u64) -> Value {
        json!({"id": "x", BINDING_KEY: {"cmd": cmd, "session": session, "seq": seq}})
    }

    #[test]
    fn a_binding_names_its_command_and_is_stripped() {
        let (b, args) = unbind("lock", &bound("lock", S1, 1)).unwrap();
        assert_eq!(b.seq, 1);
        assert_eq!(args, json!({"id": "x"}));
        assert_eq!(
            unbind("delete_document", &bound("lock", S1, 1)),
            Err(Refusal::WrongCommand)
        );
        for bad in [
            json!({}),
            json!({BINDING_KEY: null}),
            json!({BINDING_KEY: {"cmd": "lock", "session": "ABC", "seq": 1}}),
            json!({BINDING_KEY: {"cmd": "lock", "session": S1, "seq": 0}}),
            json!({BINDING_KEY: {"cmd": "lock", "session": S1, "seq": -1}}),
            json!({BINDING_KEY: {"cmd": "lock", "session": S1, "seq": 1, "x": 1}}),
        ] {
            assert_eq!(unbind("lock", &bad), Err(Refusal::Unbound), "{bad}");
        }
        assert_eq!(unbind("lock", &json!([])), Err(Refusal::BadMessage));
    }

    #[test]
    fn each_call_is_admitted_once_and_replaced_sessions_never_return() {
        let b = |s: &str, seq| Binding {
            session: crate::crypto::unhex(s).unwrap().try_into().unwrap(),
            seq,
        };
        let mut w = CallWindow::default();
        w.admit(b(S1, 1)).unwrap();
        w.admit(b(S1, 3)).unwrap();
        w.admit(b(S1, 2)).unwrap(); // late, inside the window
        assert_eq!(w.admit(b(S1, 2)), Err(Refusal::Replayed));
        assert_eq!(w.admit(b(S1, 3)), Err(Refusal::Replayed));
        w.admit(b(S1, 100)).unwrap();
        assert_eq!(w.admit(b(S1, 30)), Err(Refusal::Replayed), "too old");
        w.admit(b(S2, 1)).unwrap(); // a reload
        assert_eq!(w.admit(b(S1, 101)), Err(Refusal::Replayed), "replaced");
        w.admit(b(S2, 2)).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_policy_parses_and_every_pattern_compiles() {
        let p = policy();
        assert!(p.commands.len() >= 10);
        let mut names: Vec<_> = p.commands.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), p.commands.len(), "duplicate command names");
        fn patterns(r: &ArgRule, out: &mut Vec<String>) {
            match r {
                ArgRule::String {
                    pattern: Some(p), ..
                } => out.push(p.clone()),
                ArgRule::Array { items, .. } => patterns(items, out),
                _ => {}
            }
        }
        let mut all = vec![CHANNEL_PATTERN.to_owned()];
        for c in &p.commands {
            for a in c.args.values() {
                patterns(a, &mut all);
            }
        }
        for pat in all {
            assert!(
                pat.starts_with('^') && pat.ends_with('$'),
                "{pat} is anchored"
            );
            regex::Regex::new(&pat).expect("pattern compiles");
        }
    }

    #[test]
    fn check_accepts_exact_calls_and_refuses_the_rest() {
        let p = policy();
        let id = "0123456789abcdef0123456789abcdef";
        assert!(p
            .check("rename_document", &json!({"id": id, "name": "a.pdf"}))
            .is_ok());
        assert_eq!(
            p.check("plugin:fs|read_file", &json!({})).unwrap_err(),
            Refusal::UnknownCommand
        );
        assert_eq!(
            p.check("rename_document", &json!({"id": id})).unwrap_err(),
            Refusal::MissingArgument("name".into())
        );
        assert_eq!(
            p.check(
                "rename_document",
                &json!({"id": id, "name": "a", "path": "/etc"})
            )
            .unwrap_err(),
            Refusal::ExtraArgument
        );
        for bad in [
            json!({"id": id.to_uppercase(), "name": "a"}),
            json!({"id": id, "name": ""}),
            json!({"id": id, "name": "x".repeat(256)}),
            json!({"id": id, "name": 7}),
            json!({"id": id, "name": "a\0b"}),
            json!({"id": [id], "name": "a"}),
        ] {
            assert!(
                matches!(
                    p.check("rename_document", &bad),
                    Err(Refusal::BadArgument(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            p.check("lock", &json!([])).unwrap_err(),
            Refusal::BadMessage
        );
        assert!(p
            .check("set_auto_lock", &json!({"minutes": 1.5, "passphrase": ""}))
            .is_err());
        assert!(p
            .check("set_auto_lock", &json!({"minutes": 0, "passphrase": ""}))
            .is_err());
        assert!(p
            .check("set_auto_lock", &json!({"minutes": 15, "passphrase": ""}))
            .is_ok());
        assert!(p
            .check("import_files", &json!({"progress": "__CHANNEL__:12"}))
            .is_ok());
        assert!(p
            .check("import_files", &json!({"progress": "/etc/passwd"}))
            .is_err());
        // Channel ids are 32-bit in Tauri.
        for id in ["4294967295", "0"] {
            let ch = format!("__CHANNEL__:{id}");
            assert!(p.check("import_files", &json!({ "progress": ch })).is_ok());
        }
        for id in ["4294967296", "9999999999"] {
            let ch = format!("__CHANNEL__:{id}");
            assert!(p.check("import_files", &json!({ "progress": ch })).is_err());
        }
        let tags: Vec<String> = (0..33).map(|i| format!("t{i}")).collect();
        assert!(p
            .check("set_tags", &json!({"id": id, "tags": tags}))
            .is_err());
        assert!(p
            .check("set_tags", &json!({"id": id, "tags": ["a", ""]}))
            .is_err());
    }

    #[test]
    fn the_hook_reads_the_same_policy() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../dist-isolation/policy.js"
        );
        let want = policy().render_js();
        if std::env::var_os("COFFER_BLESS").is_some() {
            std::fs::write(path, &want).expect("write policy.js");
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "dist-isolation/policy.js differs from policy/ipc.json; \
             run `COFFER_BLESS=1 cargo test -p coffer-core ipc_policy` to render it"
        );
    }

    #[test]
    fn table_lists_every_command() {
        let t = policy().table();
        for c in &policy().commands {
            assert!(t.contains(&c.name), "{}", c.name);
        }
        assert!(t.contains("isolation hook only"));
    }
}
