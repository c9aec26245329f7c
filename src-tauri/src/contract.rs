//! The IPC contract between the shell and the UI, generated from one table.
//!
//! `commands.rs` lists every command (name, arguments, result, body) and
//! every event (name, payload) once, inside [`contract!`]. From that table
//! the macro defines the `#[tauri::command]` functions, the invoke handler
//! ([`crate::commands::handler`]), the list of names `build.rs` turns into
//! permissions ([`crate::COMMANDS`]), the event names ([`crate::events`])
//! and [`crate::commands::contract`], the table as data. [`typescript`] turns
//! that data (with every Rust type it reaches, through ts-rs) into one
//! TypeScript module, `ui/src/lib/bindings/index.ts`: the types, a
//! `Commands` and an `Events` interface, the Tauri implementation of both,
//! and Rust's rules as data (`RULES`). The UI calls only those functions and
//! its mock implements the same interfaces, so a renamed or changed command
//! breaks `npm run check`, and the test `contract_is_fresh` fails until the
//! module is regenerated (`cargo xtask bindings`).

use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use ts_rs::{TypeVisitor, TS};

/// One command of the table.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    pub name: &'static str,
    pub docs: Vec<&'static str>,
    /// Argument name (as Rust and the IPC payload spell it) and TS type.
    pub args: Vec<(&'static str, String)>,
    /// A `Channel` argument: its name and the TS type of its messages.
    pub channel: Option<(&'static str, String)>,
    /// TS type of the result (the error is always `AppError`).
    pub result: String,
}

/// One event of the table.
#[derive(Debug, Clone)]
pub struct EventSpec {
    /// The Rust constant (`SYNC_STATUS`): the UI's listener is `onSyncStatus`.
    pub konst: &'static str,
    /// The Tauri event name (`sync://status`).
    pub name: &'static str,
    pub docs: Vec<&'static str>,
    pub payload: String,
}

/// The whole contract: commands, events and every type they reach.
#[derive(Debug, Default)]
pub struct Contract {
    pub commands: Vec<CommandSpec>,
    pub events: Vec<EventSpec>,
    /// TS name → declaration (with its doc comment).
    types: BTreeMap<String, String>,
    /// Two Rust types that would share one TS name.
    clashes: Vec<String>,
    seen: HashSet<TypeId>,
}

impl Contract {
    /// Records `T` and every named type it reaches; returns how TS spells `T`.
    pub fn ty<T: TS + 'static + ?Sized>(&mut self) -> String {
        self.collect::<T>();
        T::name()
    }

    fn collect<T: TS + 'static + ?Sized>(&mut self) {
        struct Visit<'a>(&'a mut Contract);
        impl TypeVisitor for Visit<'_> {
            fn visit<U: TS + 'static + ?Sized>(&mut self) {
                self.0.collect::<U>();
            }
        }
        if !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        // Named (derived) types have an output path; primitives and
        // wrappers (Vec, Option, maps) do not and are spelled inline.
        if T::output_path().is_some() {
            let decl = format!(
                "{}export {}",
                T::DOCS.unwrap_or_default(),
                <T::WithoutGenerics as TS>::decl()
            );
            let ident = T::ident();
            match self.types.get(&ident) {
                Some(known) if *known != decl => self.clashes.push(ident),
                Some(_) => {}
                None => {
                    self.types.insert(ident, decl);
                }
            }
        }
        T::visit_dependencies(&mut Visit(self));
        T::visit_generics(&mut Visit(self));
    }

    /// Names of the TS types the contract declares.
    pub fn type_names(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(String::as_str)
    }
}

/// Where the generated module lives, relative to the workspace root.
pub const MODULE_PATH: &str = "ui/src/lib/bindings/index.ts";

/// The UI's contract module: the command table, the error type and Rust's
/// rules (`RULES`).
pub fn module() -> Result<String, String> {
    let mut c = crate::commands::contract();
    c.ty::<assay_app::AppError>();
    c.ty::<assay_app::rules::Rules>();
    let rules = serde_json::to_value(assay_app::rules::rules()).map_err(|e| e.to_string())?;
    typescript(&c, &rules)
}

/// `save_draft` → `saveDraft`.
pub fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `SYNC_STATUS` → `onSyncStatus`.
pub fn listener(konst: &str) -> String {
    let lower = konst.to_ascii_lowercase();
    let c = camel(&lower);
    let mut chars = c.chars();
    match chars.next() {
        Some(first) => format!("on{}{}", first.to_ascii_uppercase(), chars.as_str()),
        None => "on".to_string(),
    }
}

fn jsdoc(out: &mut String, indent: &str, docs: &[&str]) {
    if docs.is_empty() {
        return;
    }
    let _ = writeln!(out, "{indent}/**");
    for line in docs {
        let line = line.strip_prefix(' ').unwrap_or(line);
        if line.is_empty() {
            let _ = writeln!(out, "{indent} *");
        } else {
            let _ = writeln!(out, "{indent} * {}", line.replace("*/", "*\\/"));
        }
    }
    let _ = writeln!(out, "{indent} */");
}

/// Whether `ts` (a TS type) admits `null`: such trailing arguments may be omitted.
fn nullable(ts: &str) -> bool {
    ts.ends_with(" | null")
}

/// The TypeScript module for `contract`, with `rules` (JSON of Rust's rules,
/// typed as `Rules`) as the constant `RULES`. Errors when two Rust types
/// would share one TS name.
pub fn typescript(contract: &Contract, rules: &serde_json::Value) -> Result<String, String> {
    if !contract.clashes.is_empty() {
        return Err(format!(
            "two Rust types share these TypeScript names: {}",
            contract.clashes.join(", ")
        ));
    }
    if !contract.types.contains_key("Rules") || !contract.types.contains_key("AppError") {
        return Err("the contract must reach the types Rules and AppError".into());
    }
    let mut out = String::new();
    out.push_str(
        "// Generated by `cargo xtask bindings` from src-tauri/src/command_table.rs (the table of\n\
         // commands and events) and the Rust types it reaches (ts-rs). Do not edit: change the\n\
         // Rust side and regenerate; `cargo test -p assay-desktop` fails while this is stale.\n\
         /* eslint-disable */\n\
         import { Channel, invoke } from \"@tauri-apps/api/core\";\n\
         import { listen } from \"@tauri-apps/api/event\";\n\n",
    );
    for decl in contract.types.values() {
        out.push_str(decl);
        out.push_str("\n\n");
    }
    out.push_str("/** What every command rejects with: `{code, message}`. */\nexport type CommandError = AppError;\n\n");
    out.push_str(
        "/** Call to stop receiving an event. */\nexport type Unsubscribe = () => void;\n\n",
    );

    // Commands: one method each, arguments in the Rust order.
    out.push_str("/** Every command the shell registers, one method each (rejects with `CommandError`). */\nexport interface Commands {\n");
    for c in &contract.commands {
        jsdoc(&mut out, "  ", &c.docs);
        let mut params = Vec::new();
        let optional_from = optional_from(c);
        for (i, (name, ts)) in c.args.iter().enumerate() {
            let q = if i >= optional_from { "?" } else { "" };
            params.push(format!("{}{q}: {ts}", camel(name)));
        }
        if let Some((name, ts)) = &c.channel {
            params.push(format!("{}: (message: {ts}) => void", camel(name)));
        }
        let _ = writeln!(
            out,
            "  {}({}): Promise<{}>;",
            camel(c.name),
            params.join(", "),
            c.result
        );
    }
    out.push_str("}\n\n");

    out.push_str(
        "/** Every event the shell emits, one listener each. */\nexport interface Events {\n",
    );
    for e in &contract.events {
        jsdoc(&mut out, "  ", &e.docs);
        let _ = writeln!(
            out,
            "  {}(handler: (payload: {}) => void): Promise<Unsubscribe>;",
            listener(e.konst),
            e.payload
        );
    }
    out.push_str("}\n\n");

    out.push_str("/** The command each method calls. */\nexport const COMMAND_NAMES = {\n");
    for c in &contract.commands {
        let _ = writeln!(out, "  {}: \"{}\",", camel(c.name), c.name);
    }
    out.push_str("} as const satisfies Record<keyof Commands, string>;\n\n");
    out.push_str("/** The event each listener listens to. */\nexport const EVENT_NAMES = {\n");
    for e in &contract.events {
        let _ = writeln!(out, "  {}: \"{}\",", listener(e.konst), e.name);
    }
    out.push_str("} as const satisfies Record<keyof Events, string>;\n\n");

    // One rule a line, its value in compact JSON (a list of statuses is one line).
    let serde_json::Value::Object(rules) = rules else {
        return Err("the rules must be a JSON object".into());
    };
    let mut lines = Vec::new();
    for (name, value) in rules {
        let name = serde_json::to_string(name).map_err(|e| e.to_string())?;
        let value = serde_json::to_string(value).map_err(|e| e.to_string())?;
        lines.push(format!("  {name}: {value},"));
    }
    let _ = writeln!(
        out,
        "/** Rules Rust enforces, as data (crates/app/src/rules.rs): show them, never copy them. */\nexport const RULES: Rules = {{\n{}\n}};\n",
        lines.join("\n")
    );

    out.push_str("/** The commands and events through Tauri's IPC. */\nexport function tauriCommands(): Commands & Events {\n  return {\n");
    for c in &contract.commands {
        let optional_from = optional_from(c);
        let mut params: Vec<String> = c.args.iter().map(|(n, _)| n.to_string()).collect();
        let mut keys: Vec<String> = c
            .args
            .iter()
            .enumerate()
            .map(|(i, (n, _))| {
                if i >= optional_from {
                    format!("{n}: {n} ?? null")
                } else {
                    n.to_string()
                }
            })
            .collect();
        let mut setup = String::new();
        if let Some((name, ts)) = &c.channel {
            let handler = format!("{name}_handler");
            params.push(handler.clone());
            keys.push(name.to_string());
            setup = format!(
                "\n      const {name} = new Channel<{ts}>();\n      {name}.onmessage = {handler};\n     "
            );
        }
        let payload = if keys.is_empty() {
            String::new()
        } else {
            format!(", {{ {} }}", keys.join(", "))
        };
        let call = format!("invoke<{}>(\"{}\"{payload})", c.result, c.name);
        if setup.is_empty() {
            let _ = writeln!(
                out,
                "    {}: ({}) => {call},",
                camel(c.name),
                params.join(", ")
            );
        } else {
            let _ = writeln!(
                out,
                "    {}: ({}) => {{{setup} return {call};\n    }},",
                camel(c.name),
                params.join(", ")
            );
        }
    }
    for e in &contract.events {
        let _ = writeln!(
            out,
            "    {}: (handler) => listen<{}>(\"{}\", (e) => handler(e.payload)),",
            listener(e.konst),
            e.payload,
            e.name
        );
    }
    out.push_str("  };\n}\n");
    Ok(out)
}

/// Index of the first argument from which every argument admits `null`.
fn optional_from(c: &CommandSpec) -> usize {
    let mut from = c.args.len();
    for (i, (_, ts)) in c.args.iter().enumerate().rev() {
        if nullable(ts) {
            from = i;
        } else {
            break;
        }
    }
    from
}

/// Defines the commands and events from one table; see the module docs.
macro_rules! contract {
    (
        commands {
            $(
                $(#[doc = $doc:literal])*
                $kind:ident fn $name:ident (
                    $(@channel $ch:ident : $cht:ty,)?
                    $($arg:ident : $ty:ty),* $(,)?
                ) -> $ret:ty = |$($ctx:ident),+| $body:block
            )*
        }
        events {
            $(
                $(#[doc = $edoc:literal])*
                $ev:ident = $evname:literal : $payload:ty;
            )*
        }
    ) => {
        $(
            $crate::contract::command_fn!(
                $kind [$(#[doc = $doc])*] $name [$($ctx),+] [$($ch : $cht)?] [$($arg : $ty),*] $ret, $body
            );
        )*

        /// Every command, in table order: `build.rs` gives each its own
        /// permission (`allow-<name>`) and `capabilities/default.json` lists
        /// the ones the main window may call.
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        /// Names of the events the UI listens to.
        pub mod events {
            $(
                $(#[doc = $edoc])*
                pub const $ev: &str = $evname;
            )*
        }

        /// Registers every command of the table.
        pub fn handler<Rt: tauri::Runtime>(
        ) -> impl Fn(tauri::ipc::Invoke<Rt>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }

        /// The table as data, for the TypeScript generator.
        pub fn contract() -> $crate::contract::Contract {
            let mut c = $crate::contract::Contract::default();
            $(
                let args = vec![$((stringify!($arg), c.ty::<$ty>())),*];
                let channel: Option<(&'static str, String)> =
                    None $(.or(Some((stringify!($ch), c.ty::<$cht>()))))?;
                let result = c.ty::<$ret>();
                c.commands.push($crate::contract::CommandSpec {
                    name: stringify!($name),
                    docs: vec![$($doc),*],
                    args,
                    channel,
                    result,
                });
            )*
            $(
                let payload = c.ty::<$payload>();
                c.events.push($crate::contract::EventSpec {
                    konst: stringify!($ev),
                    name: $evname,
                    docs: vec![$($edoc),*],
                    payload,
                });
            )*
            c
        }
    };
}
pub(crate) use contract;

/// One `#[tauri::command]` from a row of the table: `sync` commands run on
/// the main thread, `async` ones on the async runtime; `|wb|` binds the
/// workbench, `|wb, app|` also the app handle.
macro_rules! command_fn {
    (sync [$($attr:tt)*] $name:ident [$wb:ident] [] [$($arg:ident : $ty:ty),*] $ret:ty, $body:block) => {
        $($attr)*
        #[tauri::command(rename_all = "snake_case")]
        #[allow(clippy::unnecessary_wraps)] // every command answers `R<_>`: one IPC error contract
        pub fn $name($wb: Wb<'_>, $($arg: $ty),*) -> R<$ret> $body
    };
    (async [$($attr:tt)*] $name:ident [$wb:ident] [$($ch:ident : $cht:ty)?] [$($arg:ident : $ty:ty),*] $ret:ty, $body:block) => {
        $($attr)*
        #[tauri::command(rename_all = "snake_case")]
        pub async fn $name($wb: Wb<'_>, $($arg: $ty,)* $($ch: tauri::ipc::Channel<$cht>)?) -> R<$ret> $body
    };
    (async [$($attr:tt)*] $name:ident [$wb:ident, $app:ident] [] [$($arg:ident : $ty:ty),*] $ret:ty, $body:block) => {
        $($attr)*
        #[tauri::command(rename_all = "snake_case")]
        pub async fn $name<Rt: tauri::Runtime>($app: tauri::AppHandle<Rt>, $wb: Wb<'_>, $($arg: $ty),*) -> R<$ret> $body
    };
}
pub(crate) use command_fn;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_camel_cased() {
        for (command, method) in [
            ("save_draft", "saveDraft"),
            ("app_info", "appInfo"),
            ("payouts", "payouts"),
        ] {
            assert_eq!(camel(command), method);
        }
        for (event, method) in [
            ("SYNC_STATUS", "onSyncStatus"),
            ("PREVIEW_CHANGED", "onPreviewChanged"),
        ] {
            assert_eq!(listener(event), method);
        }
    }

    /// Issue 13: renaming a row of the table renames, in the generated
    /// module, the method every caller and implementation names, and the
    /// command the Tauri implementation invokes; nothing keeps the old name,
    /// so the UI stops compiling (`ui/src/contract.test.ts` shows that side).
    #[test]
    fn a_renamed_command_leaves_no_trace_of_its_old_name() {
        let mut c = crate::commands::contract();
        c.ty::<assay_app::AppError>();
        c.ty::<assay_app::rules::Rules>();
        let rules = serde_json::to_value(assay_app::rules::rules()).unwrap();
        let before = typescript(&c, &rules).unwrap();
        assert!(
            before.contains("  earningsOverview(query: EarningsQuery): Promise<EarningsOverview>;")
        );
        let row = c
            .commands
            .iter_mut()
            .find(|r| r.name == "earnings_overview")
            .unwrap();
        row.name = "earnings_summary";
        let after = typescript(&c, &rules).unwrap();
        assert!(
            after.contains("  earningsSummary(query: EarningsQuery): Promise<EarningsOverview>;")
        );
        assert!(after.contains("  earningsSummary: \"earnings_summary\","));
        assert!(after.contains("invoke<EarningsOverview>(\"earnings_summary\""));
        assert!(
            !after.contains("earningsOverview"),
            "the old method name is gone"
        );
        assert!(
            !after.contains("\"earnings_overview\""),
            "the old command name is gone"
        );
    }
}
