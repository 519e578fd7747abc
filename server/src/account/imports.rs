//! Account exports and imports (config-file accounts; no JWT).
//!
//! An account *exports* streams (subjects its publishers' messages may flow out on) and
//! services (subjects others may send requests to). Another account *imports* them:
//!
//! - a stream import makes messages published in the exporting account on the imported
//!   subject reach the importing account's subscribers, on the subject the import maps
//!   it to (`prefix` or `to`);
//! - a service import makes a publish in the importing account on its local subject a
//!   request in the exporting account; the request's reply is replaced with a `_R_.`
//!   subject of the exporting account, remembered here until the response (or, for
//!   streamed and chunked responses, the response threshold) passes, so the response
//!   finds its way back to the requester's reply subject.
//!
//! Go keeps "shadow" subscriptions in the exporter's sublist for stream imports; natsd
//! instead routes at publish time: the exporter keeps the list of accounts importing from
//! it and the reader delivers into each (see `client::reader`). The facts Go's tests read
//! from the shadow subscriptions are answered by [`Account::num_shadow_subscriptions`].

use super::Account;
use crate::subject::{
    is_subset_match, is_valid_subject, subject_has_wildcard, subject_is_literal,
    subject_is_subset_match, subject_matches_filter, subjects_collide,
};
use crate::subject_transform::{transform_tokenize, transform_untokenize, SubjectTransform};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// The prefix of the reply subjects a service import gives requests.
pub const REPLY_PREFIX: &str = "_R_.";
/// How long streamed and chunked responses may keep flowing (Go's default threshold).
pub const DEFAULT_RESPONSE_THRESHOLD: Duration = Duration::from_secs(120);
/// How far a cycle search follows imports.
const MAX_CYCLE_SEARCH_DEPTH: usize = 1024;

/// Why an export or import was refused (Go's error texts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportError {
    MissingAccount,
    InvalidSubject,
    StreamImportAuthorization,
    StreamImportBadPrefix,
    StreamImportDuplicate,
    ServiceImportAuthorization,
    ImportFormsCycle,
    CycleSearchDepth,
    /// A service import whose local subject is already imported from the same account.
    DuplicateServiceImport {
        from: String,
        account: String,
        to: String,
    },
    /// A wildcard import whose subjects do not make a reversible transform.
    BadTransform {
        service: bool,
        from: String,
        to: String,
        reason: String,
    },
    NoExport(String),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::MissingAccount => f.write_str("account missing"),
            ImportError::InvalidSubject => f.write_str("invalid subject"),
            ImportError::StreamImportAuthorization => f.write_str("stream import not authorized"),
            ImportError::StreamImportBadPrefix => {
                f.write_str("stream import prefix can not contain wildcard tokens")
            }
            ImportError::StreamImportDuplicate => f.write_str("stream import already exists"),
            ImportError::ServiceImportAuthorization => {
                f.write_str("service import not authorized")
            }
            ImportError::ImportFormsCycle => f.write_str("import forms a cycle"),
            ImportError::CycleSearchDepth => f.write_str("search cycle depth exhausted"),
            ImportError::DuplicateServiceImport { from, account, to } => write!(
                f,
                "duplicate service import subject {from:?}, previously used in import for account {account:?}, subject {to:?}"
            ),
            ImportError::BadTransform {
                service,
                from,
                to,
                reason,
            } => write!(
                f,
                "failed to create mapping transform for {} import subject from {from:?} to {to:?}: {reason}",
                if *service { "service" } else { "stream" }
            ),
            ImportError::NoExport(s) => write!(f, "no export defined for {s:?}"),
        }
    }
}

impl std::error::Error for ImportError {}

/// How many responses a service sends to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseType {
    /// One response; the reply mapping goes away with it.
    #[default]
    Singleton,
    /// Any number of responses until the response threshold passes.
    Streamed,
    /// Like `Streamed` (a response split in chunks).
    Chunked,
}

impl fmt::Display for ResponseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResponseType::Singleton => "Singleton",
            ResponseType::Streamed => "Streamed",
            ResponseType::Chunked => "Chunked",
        })
    }
}

/// Who may import an export. Public when nothing is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportAuth {
    /// Accounts allowed by name; `None` with no token position: public.
    pub approved: Option<BTreeSet<String>>,
    /// An activation token is required (an empty account list); config-file accounts
    /// have none, so nobody may import.
    pub token_required: bool,
    /// 1-based token of the subject that must be the importing account's name.
    pub account_pos: usize,
}

impl ExportAuth {
    fn set(
        &mut self,
        subject: &str,
        accounts: Option<&[&str]>,
        account_pos: usize,
    ) -> Result<(), ImportError> {
        if account_pos > 0 {
            let toks: Vec<&str> = subject.split('.').collect();
            if toks.len() < account_pos || toks[account_pos - 1] != "*" {
                return Err(ImportError::InvalidSubject);
            }
        }
        self.account_pos = account_pos;
        match accounts {
            None => {}
            Some([]) => self.token_required = true,
            Some(names) => {
                let set = self.approved.get_or_insert_with(BTreeSet::new);
                set.extend(names.iter().map(|n| n.to_string()));
            }
        }
        Ok(())
    }

    fn allows(&self, importer: &str, tokens: &[&str]) -> bool {
        let approved = self.approved.as_ref().map_or(0, BTreeSet::len);
        if approved == 0 && !self.token_required && self.account_pos == 0 {
            return true;
        }
        if self.account_pos > 0 {
            return self.account_pos <= tokens.len() && tokens[self.account_pos - 1] == importer;
        }
        if self.token_required {
            return false;
        }
        self.approved.as_ref().is_some_and(|a| a.contains(importer))
    }
}

/// A service export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceExport {
    pub auth: ExportAuth,
    pub response_type: ResponseType,
    /// How long responses may take (streamed and chunked: keep flowing).
    pub response_threshold: Duration,
    /// `allow_trace`: message traces may cross into the exporting account.
    pub allow_trace: bool,
}

/// Maps an imported subject from one account's space into another's.
#[derive(Debug, Clone)]
struct SubjectMap {
    /// The subject as the import names it.
    to: String,
    transform: Option<SubjectTransform>,
    /// The published subject passes unchanged.
    use_pub: bool,
}

impl SubjectMap {
    fn apply(&self, subject: &str) -> String {
        match &self.transform {
            Some(t) => t.transform_subject(subject),
            None if self.use_pub => subject.to_string(),
            None => self.to.clone(),
        }
    }
}

/// A stream this account imports from `account`.
#[derive(Debug, Clone)]
pub struct StreamImport {
    pub account: Weak<Account>,
    pub account_name: String,
    /// The subject in the exporting account.
    pub from: String,
    /// What the importing account's subscribers see (`prefix` + subject, or `to`).
    pub to: String,
    pub allow_trace: bool,
    map: SubjectMap,
}

/// A service this account imports from `account`.
#[derive(Debug, Clone)]
pub struct ServiceImport {
    pub account: Weak<Account>,
    pub account_name: String,
    /// The local subject requests are published on.
    pub from: String,
    /// The subject in the exporting account.
    pub to: String,
    pub response_type: ResponseType,
    pub share: bool,
    map: SubjectMap,
}

/// Where a response to a `_R_.` reply goes.
#[derive(Debug, Clone)]
struct ResponseRoute {
    account: Weak<Account>,
    reply: String,
    response_type: ResponseType,
    expires: Instant,
}

impl ResponseRoute {
    /// Not expired, and the requester's account still has interest in the reply (Go
    /// drops the mapping when that interest goes).
    fn still_wanted(&self, now: Instant) -> bool {
        self.expires > now
            && self.account.upgrade().is_some_and(|a| {
                let r = a.sublist.match_subject(&self.reply);
                !r.psubs.is_empty() || r.qsubs.iter().any(|g| !g.is_empty())
            })
    }
}

/// An account's exports, imports and pending responses.
#[derive(Debug, Default)]
pub struct ImportsExports {
    stream_exports: BTreeMap<String, Option<ExportAuth>>,
    service_exports: BTreeMap<String, ServiceExport>,
    stream_imports: Vec<StreamImport>,
    service_imports: Vec<ServiceImport>,
    /// Accounts importing streams from this one.
    stream_importers: Vec<Weak<Account>>,
    /// `_R_.` replies of this (exporting) account still waiting for responses.
    responses: HashMap<String, ResponseRoute>,
    /// How many pending responses make the next request sweep out the ones nobody
    /// waits for: doubling it keeps sweeps linear overall (a sweep on every request
    /// was quadratic when a slow service let thousands pile up).
    responses_sweep_at: usize,
}

/// The fewest pending responses that make a request sweep them.
const MIN_RESPONSES_SWEEP: usize = 64;

/// A delivery target of a message published in an account with importers.
pub struct StreamTarget {
    pub account: Arc<Account>,
    pub subject: String,
}

/// A request that a service import turns into a publish in the exporting account.
pub struct ServiceTarget {
    pub account: Arc<Account>,
    pub subject: String,
    /// The `_R_.` reply in the exporting account, when the request has a reply.
    pub reply: Option<String>,
    /// Names the import (account and local subject): a request never goes through the
    /// same import twice (Go's cycle check on `pa.psi`).
    pub key: String,
}

/// A response going back to the requester's account.
pub struct ResponseTarget {
    pub account: Arc<Account>,
    pub subject: String,
}

impl Account {
    /// Adds (or widens) a stream export; `accounts` None means public.
    pub fn add_stream_export(
        &self,
        subject: &str,
        accounts: Option<&[&str]>,
    ) -> Result<(), ImportError> {
        self.add_stream_export_with_account_pos(subject, accounts, 0)
    }

    /// A stream export whose `account_pos`-th token must be the importer's name.
    pub fn add_stream_export_with_account_pos(
        &self,
        subject: &str,
        accounts: Option<&[&str]>,
        account_pos: usize,
    ) -> Result<(), ImportError> {
        let mut ie = self.ie.write();
        // A refused export leaves what was there before.
        let mut ea = ie.stream_exports.get(subject).cloned().flatten();
        if accounts.is_some() || account_pos > 0 {
            ea.get_or_insert_with(ExportAuth::default)
                .set(subject, accounts, account_pos)?;
        }
        ie.stream_exports.insert(subject.to_string(), ea);
        Ok(())
    }

    /// Adds (or widens) a service export with singleton responses.
    pub fn add_service_export(
        &self,
        subject: &str,
        accounts: Option<&[&str]>,
    ) -> Result<(), ImportError> {
        self.add_service_export_full(subject, ResponseType::Singleton, accounts, 0)
    }

    pub fn add_service_export_with_response(
        &self,
        subject: &str,
        response_type: ResponseType,
        accounts: Option<&[&str]>,
    ) -> Result<(), ImportError> {
        self.add_service_export_full(subject, response_type, accounts, 0)
    }

    /// Go's `addServiceExportWithResponseAndAccountPos`: a singleton never resets an
    /// export's response type, the threshold goes back to its default.
    pub fn add_service_export_full(
        &self,
        subject: &str,
        response_type: ResponseType,
        accounts: Option<&[&str]>,
        account_pos: usize,
    ) -> Result<(), ImportError> {
        let mut ie = self.ie.write();
        // A refused export leaves what was there before.
        let mut se = ie
            .service_exports
            .get(subject)
            .cloned()
            .unwrap_or(ServiceExport {
                auth: ExportAuth::default(),
                response_type: ResponseType::Singleton,
                response_threshold: DEFAULT_RESPONSE_THRESHOLD,
                allow_trace: false,
            });
        if response_type != ResponseType::Singleton {
            se.response_type = response_type;
        }
        if accounts.is_some() || account_pos > 0 {
            se.auth.set(subject, accounts, account_pos)?;
        }
        se.response_threshold = DEFAULT_RESPONSE_THRESHOLD;
        ie.service_exports.insert(subject.to_string(), se);
        Ok(())
    }

    /// Sets how long responses of the service export `subject` may take.
    pub fn set_service_export_response_threshold(
        &self,
        subject: &str,
        threshold: Duration,
    ) -> Result<(), ImportError> {
        let mut ie = self.ie.write();
        let key = service_export_key(&ie.service_exports, subject)
            .ok_or_else(|| ImportError::NoExport(subject.to_string()))?;
        if let Some(se) = ie.service_exports.get_mut(&key) {
            se.response_threshold = threshold;
        }
        Ok(())
    }

    /// Sets `allow_trace` on the service export `subject`.
    pub fn set_service_export_allow_trace(
        &self,
        subject: &str,
        allow: bool,
    ) -> Result<(), ImportError> {
        let mut ie = self.ie.write();
        let key = service_export_key(&ie.service_exports, subject)
            .ok_or_else(|| ImportError::NoExport(subject.to_string()))?;
        if let Some(se) = ie.service_exports.get_mut(&key) {
            se.allow_trace = allow;
        }
        Ok(())
    }

    /// Whether `importer` may import the stream `subject` from this account.
    pub fn check_stream_import_authorized(&self, importer: &str, subject: &str) -> bool {
        let ie = self.ie.read();
        if ie.stream_exports.is_empty() || !is_valid_subject(subject) {
            return false;
        }
        if let Some(ea) = ie.stream_exports.get(subject) {
            return ea.as_ref().is_none_or(|a| a.allows(importer, &[]));
        }
        let tokens: Vec<&str> = subject.split('.').collect();
        for (export, ea) in &ie.stream_exports {
            if is_subset_match(&tokens, export) {
                return ea.as_ref().is_none_or(|a| a.allows(importer, &tokens));
            }
        }
        false
    }

    /// Whether `importer` may send requests on `subject` to this account.
    pub fn check_service_import_authorized(&self, importer: &str, subject: &str) -> bool {
        let ie = self.ie.read();
        if ie.service_exports.is_empty() {
            return false;
        }
        if let Some(se) = ie.service_exports.get(subject) {
            return se.auth.allows(importer, &[]);
        }
        let tokens: Vec<&str> = subject.split('.').collect();
        for (export, se) in &ie.service_exports {
            if is_subset_match(&tokens, export) {
                return se.auth.allows(importer, &tokens);
            }
        }
        false
    }

    /// Imports the stream `from` of `exporter`, its subjects prefixed with `prefix`
    /// (a literal; a trailing `.` is added when missing).
    pub fn add_stream_import(
        self: &Arc<Self>,
        exporter: &Arc<Account>,
        from: &str,
        prefix: &str,
    ) -> Result<(), ImportError> {
        self.add_stream_import_with_trace(exporter, from, prefix, false)
    }

    pub fn add_stream_import_with_trace(
        self: &Arc<Self>,
        exporter: &Arc<Account>,
        from: &str,
        prefix: &str,
        allow_trace: bool,
    ) -> Result<(), ImportError> {
        if !exporter.check_stream_import_authorized(&self.name, from) {
            return Err(ImportError::StreamImportAuthorization);
        }
        let mut prefix = prefix.to_string();
        if !prefix.is_empty() {
            if !subject_is_literal(&prefix) {
                return Err(ImportError::StreamImportBadPrefix);
            }
            if !prefix.ends_with('.') {
                prefix.push('.');
            }
        }
        self.add_mapped_stream_import_with_trace(
            exporter,
            from,
            &format!("{prefix}{from}"),
            allow_trace,
        )
    }

    /// Imports the stream `from` of `exporter` onto the subject `to` (empty: `from`).
    pub fn add_mapped_stream_import(
        self: &Arc<Self>,
        exporter: &Arc<Account>,
        from: &str,
        to: &str,
    ) -> Result<(), ImportError> {
        self.add_mapped_stream_import_with_trace(exporter, from, to, false)
    }

    pub fn add_mapped_stream_import_with_trace(
        self: &Arc<Self>,
        exporter: &Arc<Account>,
        from: &str,
        to: &str,
        allow_trace: bool,
    ) -> Result<(), ImportError> {
        if !exporter.check_stream_import_authorized(&self.name, from) {
            return Err(ImportError::StreamImportAuthorization);
        }
        let to = if to.is_empty() { from } else { to };
        self.stream_import_forms_cycle(exporter, to)?;
        self.stream_import_forms_cycle(exporter, from)?;
        let mut map = SubjectMap {
            to: to.to_string(),
            transform: None,
            use_pub: false,
        };
        if subject_has_wildcard(from) {
            if to == from {
                map.use_pub = true;
            } else {
                let t =
                    SubjectTransform::new_strict(from, &transform_tokenize(to)).map_err(|e| {
                        ImportError::BadTransform {
                            service: false,
                            from: from.to_string(),
                            to: to.to_string(),
                            reason: e.to_string(),
                        }
                    })?;
                map.transform = t;
                map.to = transform_untokenize(to).0;
            }
        }
        {
            let mut ie = self.ie.write();
            if ie
                .stream_imports
                .iter()
                .any(|si| si.account.ptr_eq(&Arc::downgrade(exporter)) && si.from == from)
            {
                return Err(ImportError::StreamImportDuplicate);
            }
            ie.stream_imports.push(StreamImport {
                account: Arc::downgrade(exporter),
                account_name: exporter.name.clone(),
                from: from.to_string(),
                to: map.to.clone(),
                allow_trace,
                map,
            });
        }
        let mut eie = exporter.ie.write();
        if !eie
            .stream_importers
            .iter()
            .any(|w| w.ptr_eq(&Arc::downgrade(self)))
        {
            eie.stream_importers.push(Arc::downgrade(self));
        }
        exporter.has_stream_importers.store(true, Ordering::Release);
        Ok(())
    }

    /// Routes requests published here on `from` to `to` in `dest` (empty `to`: `from`).
    pub fn add_service_import(
        self: &Arc<Self>,
        dest: Option<&Arc<Account>>,
        from: &str,
        to: &str,
    ) -> Result<(), ImportError> {
        let dest = dest.ok_or(ImportError::MissingAccount)?;
        let to = if to.is_empty() { from } else { to };
        if !is_valid_subject(from) || !is_valid_subject(to) {
            return Err(ImportError::InvalidSubject);
        }
        if !dest.check_service_import_authorized(&self.name, to) {
            return Err(ImportError::ServiceImportAuthorization);
        }
        let from_for_cycle = if subject_has_wildcard(to) {
            transform_untokenize(from).0
        } else {
            from.to_string()
        };
        let mut visited = BTreeSet::from([self.name.clone()]);
        dest.check_service_imports_for_cycles(&from_for_cycle, &mut visited)?;

        let (response_type, _threshold) = {
            let die = dest.ie.read();
            match service_export_key(&die.service_exports, to)
                .and_then(|k| die.service_exports.get(&k))
            {
                Some(se) => (se.response_type, se.response_threshold),
                None => (ResponseType::Singleton, DEFAULT_RESPONSE_THRESHOLD),
            }
        };
        let mut ie = self.ie.write();
        if let Some(dup) = ie
            .service_imports
            .iter()
            .find(|si| si.account_name == dest.name && si.from == from)
        {
            return Err(ImportError::DuplicateServiceImport {
                from: from.to_string(),
                account: dup.account_name.clone(),
                to: dup.to.clone(),
            });
        }
        let mut map = SubjectMap {
            to: to.to_string(),
            transform: None,
            use_pub: false,
        };
        let mut local = from.to_string();
        if subject_has_wildcard(to) {
            if to == from {
                map.use_pub = true;
            } else {
                let bad = |e: String| ImportError::BadTransform {
                    service: true,
                    from: from.to_string(),
                    to: to.to_string(),
                    reason: e,
                };
                let untok_to = transform_untokenize(to).0;
                let t = SubjectTransform::new_strict(&untok_to, &transform_tokenize(from))
                    .map_err(|e| bad(e.to_string()))?;
                local = transform_untokenize(from).0;
                map.to = untok_to;
                map.transform = t.and_then(|t| t.reverse());
            }
        }
        ie.service_imports.push(ServiceImport {
            account: Arc::downgrade(dest),
            account_name: dest.name.clone(),
            from: local,
            to: map.to.clone(),
            response_type,
            share: false,
            map,
        });
        self.has_service_imports.store(true, Ordering::Release);
        Ok(())
    }

    /// Removes the service import from `dest` on the local subject `from`; false if
    /// there is none.
    pub fn remove_service_import(&self, dest: &str, from: &str) -> bool {
        let mut ie = self.ie.write();
        let before = ie.service_imports.len();
        ie.service_imports
            .retain(|si| !(si.account_name == dest && si.from == from));
        if ie.service_imports.is_empty() {
            self.has_service_imports.store(false, Ordering::Release);
        }
        ie.service_imports.len() != before
    }

    /// Sets `share` on the service import from `dest` on `to`.
    pub fn set_service_import_sharing(&self, dest: &str, to: &str, share: bool) -> bool {
        let mut ie = self.ie.write();
        match ie
            .service_imports
            .iter_mut()
            .find(|si| si.account_name == dest && si.to == to)
        {
            Some(si) => {
                si.share = share;
                true
            }
            None => false,
        }
    }

    fn check_service_imports_for_cycles(
        &self,
        from: &str,
        visited: &mut BTreeSet<String>,
    ) -> Result<(), ImportError> {
        if visited.len() >= MAX_CYCLE_SEARCH_DEPTH {
            return Err(ImportError::CycleSearchDepth);
        }
        let imports = self.ie.read().service_imports.clone();
        for si in imports {
            if !subjects_collide(from, &si.to) {
                continue;
            }
            if visited.contains(&si.account_name) {
                return Err(ImportError::ImportFormsCycle);
            }
            visited.insert(self.name.clone());
            let f = if subject_is_subset_match(&si.from, from) {
                si.from.clone()
            } else {
                from.to_string()
            };
            if let Some(acc) = si.account.upgrade() {
                acc.check_service_imports_for_cycles(&f, visited)?;
            }
        }
        Ok(())
    }

    fn stream_import_forms_cycle(&self, dest: &Account, to: &str) -> Result<(), ImportError> {
        let mut visited = BTreeSet::from([self.name.clone()]);
        dest.check_stream_imports_for_cycles(to, &mut visited)
    }

    fn check_stream_imports_for_cycles(
        &self,
        to: &str,
        visited: &mut BTreeSet<String>,
    ) -> Result<(), ImportError> {
        if visited.len() >= MAX_CYCLE_SEARCH_DEPTH {
            return Err(ImportError::CycleSearchDepth);
        }
        let imports = {
            let ie = self.ie.read();
            if !ie
                .stream_exports
                .keys()
                .any(|e| subject_is_subset_match(to, e))
            {
                return Ok(());
            }
            ie.stream_imports.clone()
        };
        for si in imports {
            if !subjects_collide(to, &si.to) {
                continue;
            }
            if visited.contains(&si.account_name) {
                return Err(ImportError::ImportFormsCycle);
            }
            visited.insert(self.name.clone());
            let t = if subject_is_subset_match(&si.to, to) {
                si.to.clone()
            } else {
                to.to_string()
            };
            if let Some(acc) = si.account.upgrade() {
                acc.check_stream_imports_for_cycles(&t, visited)?;
            }
        }
        Ok(())
    }

    /// Whether a publish in this account may go anywhere else: other accounts import
    /// from it, it imports services, or `_R_.` replies wait for responses.
    pub fn has_imports_or_exports(&self) -> bool {
        self.has_stream_importers.load(Ordering::Acquire)
            || self.has_service_imports.load(Ordering::Acquire)
            || self.has_responses.load(Ordering::Acquire)
    }

    /// Drops the exports and imports (a reload sets them anew); pending responses stay.
    pub fn clear_imports_exports(&self) {
        let mut ie = self.ie.write();
        ie.stream_exports.clear();
        ie.service_exports.clear();
        ie.stream_imports.clear();
        ie.service_imports.clear();
        ie.stream_importers.clear();
        self.has_stream_importers.store(false, Ordering::Release);
        self.has_service_imports.store(false, Ordering::Release);
    }

    /// Whether this account and `other` import the same streams: the same exporting
    /// account (by name), subjects and trace setting, in any order (Go's
    /// `checkStreamImportsEqual`).
    pub fn stream_imports_equal(&self, other: &Account) -> bool {
        let key = |si: &StreamImport| (si.account_name.clone(), si.from.clone(), si.to.clone());
        let mine = self.stream_imports();
        let theirs: HashMap<_, bool> = other
            .stream_imports()
            .iter()
            .map(|si| (key(si), si.allow_trace))
            .collect();
        mine.len() == other.stream_imports().len()
            && mine
                .iter()
                .all(|si| theirs.get(&key(si)) == Some(&si.allow_trace))
    }

    /// The stream imports of this account.
    pub fn stream_imports(&self) -> Vec<StreamImport> {
        self.ie.read().stream_imports.clone()
    }

    /// The service imports of this account.
    pub fn service_imports(&self) -> Vec<ServiceImport> {
        self.ie.read().service_imports.clone()
    }

    /// The stream exports: subject and who may import (None: public).
    pub fn stream_exports(&self) -> BTreeMap<String, Option<ExportAuth>> {
        self.ie.read().stream_exports.clone()
    }

    /// The service exports by subject.
    pub fn service_exports(&self) -> BTreeMap<String, ServiceExport> {
        self.ie.read().service_exports.clone()
    }

    /// Responses still expected for requests into this account's service exports (Go's
    /// `NumPendingAllResponses`); expired ones are not counted.
    pub fn num_pending_responses(&self) -> usize {
        let now = Instant::now();
        let mut ie = self.ie.write();
        ie.responses.retain(|_, r| r.still_wanted(now));
        ie.responses.len()
    }

    /// How many subscriptions Go would shadow in this account for stream imports: for
    /// each account importing from here, its subscriptions that overlap an import's
    /// subject. natsd routes at publish time and keeps none, so this is computed.
    pub fn num_shadow_subscriptions(&self) -> usize {
        let importers: Vec<Arc<Account>> = self
            .ie
            .read()
            .stream_importers
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        let mut n = 0;
        for imp in importers {
            let imports: Vec<String> = imp
                .ie
                .read()
                .stream_imports
                .iter()
                .filter(|si| std::ptr::eq(si.account.as_ptr(), self))
                .map(|si| si.to.clone())
                .collect();
            let clients = imp
                .sublist
                .all_filtered(&|s| s.0.client.kind() != crate::protocol::parser::ConnKind::System);
            for sub in clients {
                let subject = String::from_utf8_lossy(&sub.0.subject);
                n += imports
                    .iter()
                    .filter(|to| subjects_collide(&subject, to))
                    .count();
            }
        }
        n
    }

    /// Where a message published here on `subject` goes through other accounts' stream
    /// imports: each importing account with the subject it sees there.
    pub fn stream_targets(&self, subject: &str) -> Vec<StreamTarget> {
        if !self.has_stream_importers.load(Ordering::Acquire) {
            return Vec::new();
        }
        let importers: Vec<Arc<Account>> = self
            .ie
            .read()
            .stream_importers
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        let mut out = Vec::new();
        for imp in importers {
            let ie = imp.ie.read();
            for si in &ie.stream_imports {
                if std::ptr::eq(si.account.as_ptr(), self)
                    && subject_matches_filter(subject, &si.from)
                {
                    out.push(StreamTarget {
                        account: imp.clone(),
                        subject: si.map.apply(subject),
                    });
                }
            }
        }
        out
    }

    /// The service imports a publish here on `subject` goes to: the requests to send
    /// in the exporting accounts (every import whose local subject matches, as each of
    /// Go's service import subscriptions takes the message). With a reply, a `_R_.`
    /// reply of each exporting account is set up to carry responses back to `reply`.
    pub fn service_targets(
        self: &Arc<Self>,
        subject: &str,
        reply: Option<&str>,
        now: Instant,
        used: &[String],
    ) -> Vec<ServiceTarget> {
        if !self.has_service_imports.load(Ordering::Acquire) {
            return Vec::new();
        }
        let matching: Vec<(Arc<Account>, String, ResponseType, String)> = {
            let ie = self.ie.read();
            ie.service_imports
                .iter()
                .filter(|si| si.from == subject || subject_matches_filter(subject, &si.from))
                .filter_map(|si| {
                    let key = format!("{}\u{0}{}\u{0}{}", self.name, si.account_name, si.from);
                    if used.contains(&key) {
                        return None;
                    }
                    Some((
                        si.account.upgrade()?,
                        si.map.apply(subject),
                        si.response_type,
                        key,
                    ))
                })
                .collect()
        };
        matching
            .into_iter()
            .map(|(dest, to, rt, key)| {
                let reply = reply.map(|r| self.add_response_route(&dest, &to, r, rt, now));
                ServiceTarget {
                    account: dest,
                    subject: to,
                    reply,
                    key,
                }
            })
            .collect()
    }

    /// A new `_R_.` reply in `dest` that carries responses to a request on `to` back to
    /// `reply` here.
    fn add_response_route(
        self: &Arc<Self>,
        dest: &Account,
        to: &str,
        reply: &str,
        rt: ResponseType,
        now: Instant,
    ) -> String {
        let threshold = {
            let die = dest.ie.read();
            service_export_key(&die.service_exports, to)
                .and_then(|k| die.service_exports.get(&k).map(|s| s.response_threshold))
                .unwrap_or(DEFAULT_RESPONSE_THRESHOLD)
        };
        let new_reply = new_service_reply();
        let mut die = dest.ie.write();
        if die.responses.len() >= die.responses_sweep_at {
            die.responses.retain(|_, r| r.still_wanted(now));
            die.responses_sweep_at = (die.responses.len() * 2).max(MIN_RESPONSES_SWEEP);
        }
        die.responses.insert(
            new_reply.clone(),
            ResponseRoute {
                account: Arc::downgrade(self),
                reply: reply.to_string(),
                response_type: rt,
                expires: now + threshold,
            },
        );
        dest.has_responses.store(true, Ordering::Release);
        new_reply
    }

    /// Where a publish here on a `_R_.` subject goes: the requester's account and reply.
    /// A singleton response takes its mapping with it.
    pub fn response_target(&self, subject: &str, now: Instant) -> Option<ResponseTarget> {
        if !self.has_responses.load(Ordering::Acquire) || !subject.starts_with(REPLY_PREFIX) {
            return None;
        }
        let mut ie = self.ie.write();
        let route = ie.responses.get(subject)?.clone();
        if route.expires <= now || route.response_type == ResponseType::Singleton {
            ie.responses.remove(subject);
        }
        if route.expires <= now {
            return None;
        }
        Some(ResponseTarget {
            account: route.account.upgrade()?,
            subject: route.reply,
        })
    }

    /// The requester's reply behind this account's `_R_.` reply `subject`, without
    /// taking the mapping (fast batch publish reads its batch from it).
    pub fn response_reply(&self, subject: &str) -> Option<String> {
        if !self.has_responses.load(Ordering::Acquire) || !subject.starts_with(REPLY_PREFIX) {
            return None;
        }
        self.ie
            .read()
            .responses
            .get(subject)
            .map(|r| r.reply.clone())
    }

    /// Whether anyone listens to `subject` here; a `_R_.` reply of a request that came
    /// through a service import stands for the requester's reply in its account, so
    /// the interest is looked for there (Go's `trackDownAccountAndInterest`).
    pub fn has_reply_interest(&self, subject: &str) -> bool {
        let mut hop: Option<(Arc<Account>, String)> = None;
        for _ in 0..MAX_CYCLE_SEARCH_DEPTH {
            let (acc, subj): (&Account, &str) = match &hop {
                Some((a, s)) => (a, s),
                None => (self, subject),
            };
            if !subj.starts_with(REPLY_PREFIX) || !acc.has_responses.load(Ordering::Acquire) {
                return acc.sublist.has_interest(subj);
            }
            let next = acc
                .ie
                .read()
                .responses
                .get(subj)
                .and_then(|r| Some((r.account.upgrade()?, r.reply.clone())));
            match next {
                Some(n) => hop = Some(n),
                None => return acc.sublist.has_interest(subj),
            }
        }
        false
    }

    /// Forgets the `_R_.` reply `subject` (its requester no longer listens).
    pub fn remove_response(&self, subject: &str) {
        self.ie.write().responses.remove(subject);
    }
}

/// An `exports` entry of an account in the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportConfig {
    /// A service export (else a stream export).
    pub service: bool,
    pub subject: String,
    /// `accounts: [...]`: who may import; None: public.
    pub accounts: Option<Vec<String>>,
    pub response_type: ResponseType,
    /// `response_threshold`, when set.
    pub response_threshold: Option<Duration>,
    /// `latency`: results subject and sampling percentage (natsd does not track
    /// latency; the values are kept as parsed).
    pub latency: Option<(String, i64)>,
    /// `account_token_position`.
    pub account_token_position: usize,
    pub allow_trace: bool,
}

/// An `imports` entry of an account in the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportConfig {
    /// A service import (else a stream import).
    pub service: bool,
    /// The exporting account.
    pub account: String,
    /// The subject in the exporting account.
    pub subject: String,
    /// Stream imports: a literal prefix for the subjects.
    pub prefix: String,
    /// Stream imports: the local subject; service imports: the local subject requests
    /// are published on (defaults to `subject`).
    pub to: String,
    pub share: bool,
    pub allow_trace: bool,
}

/// The configured exports and imports of `accounts`, applied to the accounts of
/// `by_name` in Go's order (stream exports, service exports, stream imports, service
/// imports); each refusal is returned with Go's text.
pub fn apply_configured(
    by_name: &BTreeMap<String, Arc<Account>>,
    accounts: &[super::AccountConfig],
    no_system_account: bool,
) -> Vec<String> {
    let mut errors = Vec::new();
    for service in [false, true] {
        for ac in accounts {
            let Some(acc) = by_name.get(&ac.name) else {
                continue;
            };
            for e in ac.exports.iter().filter(|e| e.service == service) {
                let what = if service { "service" } else { "stream" };
                let approved = resolve_accounts(by_name, &e.accounts, what, &mut errors);
                let res = if service {
                    acc.add_service_export_full(
                        &e.subject,
                        e.response_type,
                        approved.as_deref(),
                        e.account_token_position,
                    )
                } else {
                    acc.add_stream_export_with_account_pos(
                        &e.subject,
                        approved.as_deref(),
                        e.account_token_position,
                    )
                };
                if let Err(err) = res {
                    errors.push(format!("Error adding {what} export {:?}: {err}", e.subject));
                    continue;
                }
                if !service {
                    continue;
                }
                if let Some(t) = e.response_threshold {
                    if let Err(err) = acc.set_service_export_response_threshold(&e.subject, t) {
                        errors.push(format!(
                            "Error adding service export response threshold for {:?}: {err}",
                            e.subject
                        ));
                        continue;
                    }
                }
                if e.latency.is_some() && no_system_account {
                    errors.push(format!(
                        "Error adding service latency sampling for {:?}: system account not setup",
                        e.subject
                    ));
                    continue;
                }
                if e.allow_trace {
                    if let Err(err) = acc.set_service_export_allow_trace(&e.subject, true) {
                        errors.push(format!(
                            "Error adding allow_trace for {:?}: {err}",
                            e.subject
                        ));
                    }
                }
            }
        }
    }
    for service in [false, true] {
        for ac in accounts {
            let Some(acc) = by_name.get(&ac.name) else {
                continue;
            };
            for i in ac.imports.iter().filter(|i| i.service == service) {
                let what = if service { "service" } else { "stream" };
                let Some(exporter) = by_name.get(&i.account) else {
                    errors.push(format!(
                        "{:?} account not defined for {what} import",
                        i.account
                    ));
                    continue;
                };
                if service {
                    let to = if i.to.is_empty() { &i.subject } else { &i.to };
                    if let Err(err) = acc.add_service_import(Some(exporter), to, &i.subject) {
                        errors.push(format!(
                            "Error adding service import {:?}: {err}",
                            i.subject
                        ));
                        continue;
                    }
                    acc.set_service_import_sharing(&exporter.name, &i.subject, i.share);
                } else {
                    let res = if !i.prefix.is_empty() {
                        acc.add_stream_import_with_trace(
                            exporter,
                            &i.subject,
                            &i.prefix,
                            i.allow_trace,
                        )
                    } else {
                        acc.add_mapped_stream_import_with_trace(
                            exporter,
                            &i.subject,
                            &i.to,
                            i.allow_trace,
                        )
                    };
                    if let Err(err) = res {
                        errors.push(format!("Error adding stream import {:?}: {err}", i.subject));
                    }
                }
            }
        }
    }
    errors
}

/// The accounts an export names that exist; unknown ones are reported.
fn resolve_accounts<'a>(
    by_name: &BTreeMap<String, Arc<Account>>,
    names: &'a Option<Vec<String>>,
    what: &str,
    errors: &mut Vec<String>,
) -> Option<Vec<&'a str>> {
    names.as_ref().map(|names| {
        names
            .iter()
            .filter(|n| {
                let known = by_name.contains_key(*n);
                if !known {
                    errors.push(format!("{n:?} account not defined for {what} export"));
                }
                known
            })
            .map(String::as_str)
            .collect()
    })
}

/// The service export `subject` falls under: itself, else a wildcard export matching it.
fn service_export_key(exports: &BTreeMap<String, ServiceExport>, subject: &str) -> Option<String> {
    if exports.contains_key(subject) {
        return Some(subject.to_string());
    }
    exports
        .keys()
        .find(|e| subject_is_subset_match(subject, e))
        .cloned()
}

/// A fresh `_R_.` reply subject: the prefix, then two random base-62 tokens.
fn new_service_reply() -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    let mut s = String::with_capacity(REPLY_PREFIX.len() + 20);
    s.push_str(REPLY_PREFIX);
    for i in 0..19 {
        if i == 6 {
            s.push('.');
        } else {
            s.push(char::from(DIGITS[rng.gen_range(0..DIGITS.len())]));
        }
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn acc(name: &str) -> Arc<Account> {
        Arc::new(Account::new(name, "", true))
    }

    #[test]
    fn stream_import_needs_an_export() {
        let (foo, bar) = (acc("foo"), acc("bar"));
        assert_eq!(
            bar.add_stream_import(&foo, "foo", "import"),
            Err(ImportError::StreamImportAuthorization)
        );
        foo.add_stream_export("foo", None).unwrap();
        bar.add_stream_import(&foo, "foo", "import").unwrap();
        let t = foo.stream_targets("foo");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].subject, "import.foo");
        assert!(foo.stream_targets("bar").is_empty());
    }

    #[test]
    fn wildcard_stream_import_with_prefix_keeps_the_published_subject() {
        let (foo, bar) = (acc("foo"), acc("bar"));
        foo.add_stream_export(">", Some(&["bar"])).unwrap();
        bar.add_stream_import(&foo, "*", "pub.imports.").unwrap();
        assert_eq!(foo.stream_targets("foo")[0].subject, "pub.imports.foo");
        assert_eq!(
            bar.add_stream_import(&foo, "client.>", "events.>"),
            Err(ImportError::StreamImportBadPrefix)
        );
    }

    #[test]
    fn wildcard_stream_imports_map_onto_their_local_subjects() {
        let (foo, bar) = (acc("foo"), acc("bar"));
        foo.add_stream_export("events.>", None).unwrap();
        foo.add_stream_export("info.*.*.>", None).unwrap();
        bar.add_mapped_stream_import(&foo, "events.>", "foo.events.>")
            .unwrap();
        bar.add_mapped_stream_import(&foo, "info.*.*.>", "foo.info.$2.$1.>")
            .unwrap();
        let subjects = |s: &str| -> Vec<String> {
            foo.stream_targets(s)
                .into_iter()
                .map(|t| t.subject)
                .collect()
        };
        assert_eq!(subjects("events.22"), ["foo.events.22"]);
        assert_eq!(subjects("info.11.22.bar"), ["foo.info.22.11.bar"]);
    }

    #[test]
    fn singleton_response_mapping_goes_with_the_response() {
        let (foo, bar) = (acc("foo"), acc("bar"));
        foo.add_service_export("test.request", None).unwrap();
        bar.add_service_import(Some(&foo), "foo", "test.request")
            .unwrap();
        let now = Instant::now();
        let t = bar.service_targets("foo", Some("bar"), now, &[]).remove(0);
        assert_eq!(t.subject, "test.request");
        let reply = t.reply.unwrap();
        assert!(reply.starts_with(REPLY_PREFIX));
        assert_eq!(foo.ie.read().responses.len(), 1);
        let r = foo.response_target(&reply, now).unwrap();
        assert_eq!(r.subject, "bar");
        assert!(Arc::ptr_eq(&r.account, &bar));
        assert!(foo.ie.read().responses.is_empty());
        assert!(foo.response_target(&reply, now).is_none());
    }

    #[test]
    fn responses_nobody_waits_for_are_swept_now_and_then() {
        let (foo, bar) = (acc("foo"), acc("bar"));
        foo.add_service_export("svc", None).unwrap();
        bar.add_service_import(Some(&foo), "svc", "").unwrap();
        let now = Instant::now();
        for _ in 0..1000 {
            // Nobody in bar listens on the reply: the mappings may go.
            bar.service_targets("svc", Some("gone"), now, &[]);
            assert!(foo.ie.read().responses.len() <= MIN_RESPONSES_SWEEP);
        }
        assert_eq!(foo.num_pending_responses(), 0);
    }

    #[test]
    fn streamed_responses_last_until_the_threshold() {
        let (foo, bar) = (acc("foo"), acc("bar"));
        foo.add_service_export_with_response("svc", ResponseType::Streamed, None)
            .unwrap();
        foo.set_service_export_response_threshold("svc", Duration::from_secs(1))
            .unwrap();
        bar.add_service_import(Some(&foo), "svc", "").unwrap();
        let now = Instant::now();
        let reply = bar
            .service_targets("svc", Some("in"), now, &[])
            .remove(0)
            .reply
            .unwrap();
        for _ in 0..3 {
            assert!(foo.response_target(&reply, now).is_some());
        }
        assert!(foo
            .response_target(&reply, now + Duration::from_secs(2))
            .is_none());
    }

    #[test]
    fn service_import_cycle_is_refused() {
        let (a, b) = (acc("A"), acc("B"));
        a.add_service_export("q", None).unwrap();
        b.add_service_export("q", None).unwrap();
        a.add_service_import(Some(&b), "q", "").unwrap();
        assert_eq!(
            b.add_service_import(Some(&a), "q", ""),
            Err(ImportError::ImportFormsCycle)
        );
    }
}
