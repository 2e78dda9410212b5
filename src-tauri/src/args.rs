//! The third gate: what Rust accepts as a command's arguments.
//!
//! Every command's first argument is [`Checked`], which runs the IPC policy's
//! check ([`coffer_core::ipc_policy::Policy::check`]) on the whole payload
//! before any argument is parsed: the command must be listed, and the payload
//! must hold exactly its arguments, each of the listed shape. Then each
//! argument is parsed into a type that can only hold a valid value ("parse,
//! don't validate"), checked with `validator` and the core's name rules. The
//! hook's binding (command, page session, turn) is checked first and admitted
//! once: replays and unbound calls never reach the policy check. A
//! failure at either step is an [`AppError`] with a stable code, never serde's
//! or Tauri's text. Nothing here trusts the hook: a replayed or hand-made
//! message meets the same checks.

use coffer_core::ipc_policy::{policy, unbind, Refusal, BINDING_KEY};
use coffer_core::secret::Passphrase;
use coffer_core::vault::DocumentId;
use serde::Deserialize;
use serde_json::Value;
use tauri::ipc::{CommandArg, CommandItem, InvokeBody, InvokeError};
use tauri::{Manager, Runtime};
use validator::Validate;

use crate::error::AppError;
use crate::state::Shared;

/// Proof that the call passed the IPC policy in Rust (for runtime `R`).
#[derive(Debug, Clone, Copy)]
pub struct Checked<R>(std::marker::PhantomData<fn() -> R>);

impl<'de, R: Runtime> CommandArg<'de, R> for Checked<R> {
    fn from_command(item: CommandItem<'de, R>) -> Result<Self, InvokeError> {
        let shared = item
            .message
            .webview_ref()
            .state::<Shared<R>>()
            .inner()
            .clone();
        // The hook binds every call it passes to its command, its page's
        // session and its turn, inside the encrypted payload. An empty body
        // (which Tauri never decrypts), a hand-made message, a ciphertext
        // replayed under the same or another command, or one from a replaced
        // page carries no valid binding. The binding is checked and stripped
        // before the policy check; it is recorded as used only once the whole
        // call passed.
        let verdict = match item.message.payload() {
            InvokeBody::Json(v) => unbind(item.name, v).and_then(|(b, args)| {
                policy().check(item.name, &args)?;
                shared.admit(b)
            }),
            InvokeBody::Raw(_) => Err(Refusal::BadMessage),
        };
        match verdict {
            // Passing the gates is not user activity: only `keep_alive`, an
            // unlock and an answered dialog postpone the auto-lock.
            Ok(()) => Ok(Checked(std::marker::PhantomData)),
            Err(refusal) => {
                shared.record_refusal(item.name, refusal.code(), "rust");
                Err(InvokeError::from(AppError::Refused { refusal }))
            }
        }
    }
}

/// The JSON value of this argument (present: [`Checked`] ran first).
fn value<'a, R: Runtime>(item: &'a CommandItem<'_, R>) -> Result<&'a Value, AppError> {
    match item.message.payload() {
        InvokeBody::Json(Value::Object(m)) if item.key != BINDING_KEY => m.get(item.key),
        _ => None,
    }
    .ok_or(AppError::Refused {
        refusal: Refusal::MissingArgument(item.key.to_owned()),
    })
}

/// An argument type parsed from its JSON value.
pub trait FromArg: Sized {
    /// The argument's name, for errors.
    const FIELD: &'static str;
    /// Parses and validates.
    fn parse(v: &Value) -> Result<Self, AppError>;
}

macro_rules! command_args {
    ($($t:ty),* $(,)?) => {$(
        impl<'de, R: Runtime> CommandArg<'de, R> for $t {
            fn from_command(item: CommandItem<'de, R>) -> Result<Self, InvokeError> {
                value(&item).and_then(<$t as FromArg>::parse).map_err(|e| {
                    // A value of the right shape but not a valid one
                    // (`../x` as a name) is a refusal by Rust, recorded too.
                    item.message
                        .webview_ref()
                        .state::<Shared<R>>()
                        .record_refusal(item.name, e.code(), "rust");
                    InvokeError::from(e)
                })
            }
        }
    )*};
}
command_args!(
    DocId,
    DocName,
    Tags,
    Query,
    NewPassphrase,
    CurrentPassphrase,
    Minutes,
    BlockedReport,
    OptionalPassphrase,
    EventFilter,
    Offset,
    SortBy,
    Descending,
    Limit,
    RecoveryKeyText,
    NewKeyChoice,
    ShareRecipients
);

fn string<'a>(field: &'static str, v: &'a Value) -> Result<&'a str, AppError> {
    v.as_str().ok_or(AppError::invalid(field, "must be text"))
}

/// A document id: exactly 32 lowercase hex digits (no prefixes from the UI).
#[derive(Debug, Clone, Copy)]
pub struct DocId(pub DocumentId);

impl FromArg for DocId {
    const FIELD: &'static str = "id";
    fn parse(v: &Value) -> Result<Self, AppError> {
        let s = string(Self::FIELD, v)?;
        let bad = || AppError::invalid(Self::FIELD, "must be 32 lowercase hex digits");
        if s.len() != 32 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad());
        }
        let mut id = [0u8; 16];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(DocId(DocumentId(id)))
    }
}

/// A document name that passes the core's name rules.
#[derive(Debug, Clone)]
pub struct DocName(pub String);

impl FromArg for DocName {
    const FIELD: &'static str = "name";
    fn parse(v: &Value) -> Result<Self, AppError> {
        let s = string(Self::FIELD, v)?;
        coffer_core::names::validate(s)
            .map_err(|e| AppError::invalid(Self::FIELD, e.to_string()))?;
        Ok(DocName(s.to_owned()))
    }
}

/// A document's tags, each passing the core's tag rules.
#[derive(Debug, Clone)]
pub struct Tags(pub Vec<String>);

#[derive(Deserialize, Validate)]
#[serde(transparent)]
struct TagsIn {
    #[validate(length(max = 32))]
    tags: Vec<String>,
}

impl FromArg for Tags {
    const FIELD: &'static str = "tags";
    fn parse(v: &Value) -> Result<Self, AppError> {
        let t = TagsIn::deserialize(v)
            .map_err(|_| AppError::invalid(Self::FIELD, "must be a list of text"))?;
        t.validate()
            .map_err(|_| AppError::invalid(Self::FIELD, "at most 32 tags"))?;
        for tag in &t.tags {
            coffer_core::names::validate_tag(tag)
                .map_err(|why| AppError::invalid(Self::FIELD, why))?;
        }
        Ok(Tags(t.tags))
    }
}

/// A search query (name or tag substring, or `tag:T`).
#[derive(Debug, Clone)]
pub struct Query(pub String);

#[derive(Deserialize, Validate)]
#[serde(transparent)]
struct QueryIn {
    #[validate(length(max = 256))]
    text: String,
}

impl FromArg for Query {
    const FIELD: &'static str = "query";
    fn parse(v: &Value) -> Result<Self, AppError> {
        let q =
            QueryIn::deserialize(v).map_err(|_| AppError::invalid(Self::FIELD, "must be text"))?;
        q.validate()
            .map_err(|_| AppError::invalid(Self::FIELD, "at most 256 characters"))?;
        Ok(Query(q.text))
    }
}

fn passphrase(field: &'static str, v: &Value, min_chars: usize) -> Result<Passphrase, AppError> {
    let s = string(field, v)?;
    if s.chars().count() < min_chars || s.len() > 1024 {
        return Err(AppError::invalid(
            field,
            format!("use {min_chars} to 1024 characters"),
        ));
    }
    // The copy lives in a type that wipes itself on drop.
    Ok(Passphrase::new(s.to_owned()))
}

/// A passphrase being set: the core's minimum length and at most 1 KiB.
pub struct NewPassphrase(pub Passphrase);

impl FromArg for NewPassphrase {
    const FIELD: &'static str = "passphrase";
    fn parse(v: &Value) -> Result<Self, AppError> {
        passphrase(Self::FIELD, v, coffer_core::secret::MIN_PASSPHRASE_CHARS).map(NewPassphrase)
    }
}

/// A passphrase being checked: anything non-empty up to 1 KiB.
pub struct CurrentPassphrase(pub Passphrase);

impl FromArg for CurrentPassphrase {
    const FIELD: &'static str = "passphrase";
    fn parse(v: &Value) -> Result<Self, AppError> {
        passphrase(Self::FIELD, v, 1).map(CurrentPassphrase)
    }
}

/// A passphrase that may be left empty (`None`): where only some uses need it.
pub struct OptionalPassphrase(pub Option<Passphrase>);

impl FromArg for OptionalPassphrase {
    const FIELD: &'static str = "passphrase";
    fn parse(v: &Value) -> Result<Self, AppError> {
        match string(Self::FIELD, v)? {
            "" => Ok(OptionalPassphrase(None)),
            _ => passphrase(Self::FIELD, v, 1).map(|p| OptionalPassphrase(Some(p))),
        }
    }
}

/// A recovery key as typed: exactly 56 symbols of Crockford's base 32 (any
/// case; `I`/`L` and `O` read as `1` and `0`), in groups or not, separated by
/// dashes or spaces, at most 256 bytes: the policy's shape, checked again
/// here. The checksum is checked by the command ([`RecoveryKey::parse`]): a
/// typo is the user's, answered with `recovery_key_format`, not a refusal.
/// The copy wipes itself on drop.
///
/// [`RecoveryKey::parse`]: coffer_core::recovery::RecoveryKey::parse
pub struct RecoveryKeyText(pub zeroize::Zeroizing<String>);

/// The number of symbols in a recovery key's text form.
pub const RECOVERY_KEY_SYMBOLS: usize = 56;

impl FromArg for RecoveryKeyText {
    const FIELD: &'static str = "key";
    fn parse(v: &Value) -> Result<Self, AppError> {
        let s = string(Self::FIELD, v)?;
        let symbol = |c: char| c.is_ascii_alphanumeric() && !c.eq_ignore_ascii_case(&'u');
        let shaped = s.len() <= 256
            && s.chars().all(|c| symbol(c) || c == '-' || c == ' ')
            && s.chars().filter(|c| symbol(*c)).count() == RECOVERY_KEY_SYMBOLS;
        if !shaped {
            return Err(AppError::invalid(
                Self::FIELD,
                "a recovery key is 56 letters and digits, in groups separated by dashes or spaces",
            ));
        }
        Ok(RecoveryKeyText(zeroize::Zeroizing::new(s.to_owned())))
    }
}

/// `yes` or `no`: whether recovery also replaces the recovery key.
#[derive(Debug, Clone, Copy)]
pub struct NewKeyChoice(pub bool);

impl FromArg for NewKeyChoice {
    const FIELD: &'static str = "newKey";
    fn parse(v: &Value) -> Result<Self, AppError> {
        match string(Self::FIELD, v)? {
            "no" => Ok(NewKeyChoice(false)),
            "yes" => Ok(NewKeyChoice(true)),
            _ => Err(AppError::invalid(Self::FIELD, "must be yes or no")),
        }
    }
}

/// Who a share is for: 1 to [`MAX_RECIPIENTS`] distinct age X25519 public
/// keys, each checked in full by the core (Bech32 checksum, padding, a point
/// not of small order) whatever the hook let through. A refusal names the
/// recipient's position, never its text.
///
/// [`MAX_RECIPIENTS`]: coffer_core::share::MAX_RECIPIENTS
#[derive(Debug, Clone)]
pub struct ShareRecipients(pub coffer_core::share::Recipients);

impl FromArg for ShareRecipients {
    const FIELD: &'static str = "recipients";
    fn parse(v: &Value) -> Result<Self, AppError> {
        let list = Vec::<String>::deserialize(v)
            .map_err(|_| AppError::invalid(Self::FIELD, "must be a list of text"))?;
        coffer_core::share::Recipients::parse(&list)
            .map(ShareRecipients)
            .map_err(|e| AppError::Core(e.into()))
    }
}

/// An audit event name to filter by (empty: every event).
#[derive(Debug, Clone)]
pub struct EventFilter(pub String);

impl FromArg for EventFilter {
    const FIELD: &'static str = "event";
    fn parse(v: &Value) -> Result<Self, AppError> {
        let s = string(Self::FIELD, v)?;
        if s.len() > 32 || !s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(AppError::invalid(
                Self::FIELD,
                "must be an event name (a-z and _)",
            ));
        }
        Ok(EventFilter(s.to_owned()))
    }
}

/// How many matching entries to skip (paging through the audit log).
#[derive(Debug, Clone, Copy)]
pub struct Offset(pub usize);

impl FromArg for Offset {
    const FIELD: &'static str = "offset";
    fn parse(v: &Value) -> Result<Self, AppError> {
        v.as_u64()
            .filter(|n| *n <= MAX_OFFSET)
            .and_then(|n| usize::try_from(n).ok())
            .map(Offset)
            .ok_or(AppError::invalid(
                Self::FIELD,
                "must be a whole number from 0 to 100000000",
            ))
    }
}

/// How a listing is sorted, and which way.
#[derive(Debug, Clone, Copy)]
pub struct SortBy(pub coffer_core::catalog::Sort);

impl FromArg for SortBy {
    const FIELD: &'static str = "sort";
    fn parse(v: &Value) -> Result<Self, AppError> {
        use coffer_core::catalog::Sort;
        match string(Self::FIELD, v)? {
            "name" => Ok(SortBy(Sort::Name)),
            "size" => Ok(SortBy(Sort::Size)),
            "date" => Ok(SortBy(Sort::Date)),
            _ => Err(AppError::invalid(Self::FIELD, "must be name, size or date")),
        }
    }
}

/// `asc` or `desc`: whether a listing runs backwards.
#[derive(Debug, Clone, Copy)]
pub struct Descending(pub bool);

impl FromArg for Descending {
    const FIELD: &'static str = "order";
    fn parse(v: &Value) -> Result<Self, AppError> {
        match string(Self::FIELD, v)? {
            "asc" => Ok(Descending(false)),
            "desc" => Ok(Descending(true)),
            _ => Err(AppError::invalid(Self::FIELD, "must be asc or desc")),
        }
    }
}

/// How many documents one page may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limit(pub usize);

/// The largest page of a listing (the policy's bound too).
pub const MAX_PAGE: u64 = 500;

impl FromArg for Limit {
    const FIELD: &'static str = "limit";
    fn parse(v: &Value) -> Result<Self, AppError> {
        v.as_u64()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .map(|n| Limit(n as usize))
            .ok_or(AppError::invalid(Self::FIELD, "must be 1 to 500"))
    }
}

/// The largest audit offset (the policy's bound too).
pub const MAX_OFFSET: u64 = 100_000_000;

/// Minutes of inactivity before the vault locks itself.
#[derive(Debug, Clone, Copy)]
pub struct Minutes(pub u32);

#[derive(Deserialize, Validate)]
#[serde(transparent)]
struct MinutesIn {
    #[validate(range(min = 1, max = 1440))]
    minutes: u32,
}

impl FromArg for Minutes {
    const FIELD: &'static str = "minutes";
    fn parse(v: &Value) -> Result<Self, AppError> {
        let m = MinutesIn::deserialize(v)
            .map_err(|_| AppError::invalid(Self::FIELD, "must be a whole number"))?;
        m.validate()
            .map_err(|_| AppError::invalid(Self::FIELD, "must be 1 to 1440"))?;
        Ok(Minutes(m.minutes))
    }
}

/// What the hook reports about a call it refused. Both fields are checked by
/// the policy's patterns before this runs; this keeps them as plain data.
#[derive(Debug, Clone)]
pub struct BlockedReport(pub String);

impl FromArg for BlockedReport {
    const FIELD: &'static str = "report";
    fn parse(v: &Value) -> Result<Self, AppError> {
        Ok(BlockedReport(string(Self::FIELD, v)?.to_owned()))
    }
}
