//! The entry's command and arguments: this program's absolute path, and the arguments
//! rebuilt from the parsed options (never the raw command line), holding references only —
//! a `--bearer` or `--header` that would put a literal secret into the client's config file
//! is refused, since keeping tokens out of those files is the point of the tool.

use super::ConfigCmdError;
use crate::cli::RunArgs;
use crate::config;
use crate::credentials::reference::SecretRef;
use crate::profile::{self, CONFIG_ENV};
use clap::ValueEnum;
use std::path::{Path, PathBuf};

/// The bridge's `(command, args)` for `run`, after checking the entry name, that the options
/// hold no secret and that they make a valid configuration.
pub fn command_and_args(
    name: &str,
    run: &RunArgs,
    env: crate::environment::EnvLookup<'_>,
) -> Result<(String, Vec<String>), ConfigCmdError> {
    check_name(name)?;
    refuse_literal_secrets(run)?;
    if run.url.is_none() && run.profile.is_none() {
        return Err(ConfigCmdError::NoUrl);
    }
    // Check the options as the bridge will see them: the client starts it without this
    // shell's variables, so none is consulted but the config file's location.
    let only_config_env = |k: &str| if k == CONFIG_ENV { env(k) } else { None };
    let cfg = config::resolve(run, &only_config_env)?;
    crate::oauth::OAuthOptions::from_args(&cfg.oauth)
        .map_err(|e| config::ConfigError::BadValue(e.to_string()))?;
    let args = rebuild_args(run, env)?;
    Ok((binary_path()?, args))
}

/// An entry name every client accepts as a key (and a TOML bare key).
pub fn check_name(name: &str) -> Result<(), ConfigCmdError> {
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !name_ok {
        return Err(ConfigCmdError::BadName(name.chars().take(40).collect()));
    }
    Ok(())
}

/// `--bearer` must be a reference; every `--header` value must hold one and no token-shaped
/// literal; the URL and the proxy must carry no credentials.
fn refuse_literal_secrets(run: &RunArgs) -> Result<(), ConfigCmdError> {
    let refused = |option: String, why: String| ConfigCmdError::LiteralSecret { option, why };
    if let Some(b) = &run.bearer {
        SecretRef::parse(b.trim()).map_err(|e| refused("--bearer".into(), e.to_string()))?;
    }
    let o = &run.oauth;
    for (value, option) in [
        (&o.client_secret, "--client-secret"),
        (&o.client_key, "--client-key"),
        (&o.workload_token, "--workload-token"),
        (&o.id_token, "--id-token"),
        (&o.idp_client_secret, "--idp-client-secret"),
    ] {
        if let Some(s) = value {
            SecretRef::parse(s.trim()).map_err(|e| refused(option.into(), e.to_string()))?;
        }
    }
    for raw in &run.headers {
        let spec = config::parse_header(raw)?;
        let option = format!("--header {}", spec.name);
        if spec.template.refs().next().is_none() {
            let why =
                "the value is not a credential reference such as ${keychain:NAME} or ${env:VAR}";
            return Err(refused(option, why.into()));
        }
        if let Some(why) = profile::literal_secret(&spec.name, &spec.template) {
            return Err(refused(option, why));
        }
    }
    if let Some(url) = &run.url {
        profile::check_url(url).map_err(|why| refused("the URL".into(), why))?;
    }
    if let Some(proxy) = &run.proxy
        && url::Url::parse(proxy.trim()).is_ok_and(|u| u.password().is_some())
    {
        let why =
            "the proxy URL holds a password; set HTTPS_PROXY in the client's environment instead";
        return Err(refused("--proxy".into(), why.into()));
    }
    Ok(())
}

/// The bridge's arguments, from the parsed options: `--profile` (and the config file, when
/// it is not the default) rather than the profile's contents, paths made absolute because
/// the client starts the bridge from a directory of its own.
fn rebuild_args(
    run: &RunArgs,
    env: crate::environment::EnvLookup<'_>,
) -> Result<Vec<String>, ConfigCmdError> {
    let mut args = Vec::new();
    let mut push = |flag: &str, value: Option<String>| {
        args.push(flag.to_string());
        args.extend(value);
    };
    if let Some(url) = &run.url {
        push(url.trim(), None);
    }
    if let Some(p) = &run.profile {
        push("--profile", Some(p.clone()));
        let explicit = run.config.clone().or_else(|| {
            env(CONFIG_ENV)
                .filter(|v| !v.trim().is_empty())
                .map(PathBuf::from)
        });
        if let Some(file) = explicit {
            push("--config", Some(absolute(&file)?));
        }
    }
    if let Some(t) = run.transport {
        let value = t.to_possible_value().map(|v| v.get_name().to_string());
        push("--transport", value);
    }
    if let Some(p) = run.protocol {
        let value = p.to_possible_value().map(|v| v.get_name().to_string());
        push("--protocol", value);
    }
    if let Some(b) = &run.bearer {
        push("--bearer", Some(b.trim().to_string()));
    }
    for raw in &run.headers {
        let (name, value) = raw.split_once(':').unwrap_or((raw, ""));
        push(
            "--header",
            Some(format!("{}: {}", name.trim(), value.trim())),
        );
    }
    if run.allow_http {
        push("--allow-http", None);
    }
    let number = |v: f64| v.to_string();
    if let Some(t) = run.connect_timeout {
        push("--connect-timeout", Some(number(t)));
    }
    if let Some(m) = run.max_message_mib {
        push("--max-message-mib", Some(m.to_string()));
    }
    if let Some(t) = run.request_timeout {
        push("--request-timeout", Some(number(t)));
    }
    for ca in &run.ca_certs {
        push("--ca-cert", Some(absolute(ca)?));
    }
    if let Some(proxy) = &run.proxy {
        push("--proxy", Some(proxy.trim().to_string()));
    }
    for glob in &run.allow_tools {
        push("--allow-tool", Some(glob.trim().to_string()));
    }
    for glob in &run.deny_tools {
        push("--deny-tool", Some(glob.trim().to_string()));
    }
    oauth_args(&run.oauth, &mut push);
    Ok(args)
}

/// Every OAuth option given (secrets only as their references, checked before).
fn oauth_args(o: &crate::cli::OAuthArgs, push: &mut dyn FnMut(&str, Option<String>)) {
    let text = |v: &Option<String>| v.as_ref().map(|s| s.trim().to_string());
    for (on, flag) in [
        (o.oauth, "--oauth"),
        (o.client_credentials, "--client-credentials"),
        (o.no_resource_param, "--no-resource-param"),
        (o.device, "--device"),
    ] {
        if on {
            push(flag, None);
        }
    }
    for (value, flag) in [
        (text(&o.client_id), "--client-id"),
        (text(&o.client_secret), "--client-secret"),
        (text(&o.client_key), "--client-key"),
        (text(&o.workload_token), "--workload-token"),
        (text(&o.id_token), "--id-token"),
        (text(&o.idp_token_endpoint), "--idp-token-endpoint"),
        (text(&o.idp_client_id), "--idp-client-id"),
        (text(&o.idp_client_secret), "--idp-client-secret"),
        (
            o.dpop
                .and_then(|d| d.to_possible_value())
                .map(|v| v.get_name().to_string()),
            "--dpop",
        ),
        (text(&o.client_metadata_url), "--client-metadata-url"),
        (text(&o.scope), "--scope"),
        (o.auth_timeout.map(|t| t.to_string()), "--auth-timeout"),
        (o.callback_port.map(|p| p.to_string()), "--callback-port"),
        (
            o.callback_host
                .and_then(|h| h.to_possible_value())
                .map(|v| v.get_name().to_string()),
            "--callback-host",
        ),
        (text(&o.authorization_server), "--authorization-server"),
    ] {
        if value.is_some() {
            push(flag, value);
        }
    }
}

/// The options `auth status` takes (URL, profile, bearer, headers) as a shell line, for the
/// hint after `--write` (they hold no secret: checked).
pub fn shown_options(run: &RunArgs) -> String {
    let only_credentials = RunArgs {
        url: run.url.clone(),
        profile: run.profile.clone(),
        config: run.config.clone(),
        bearer: run.bearer.clone(),
        headers: run.headers.clone(),
        ..RunArgs::default()
    };
    let args = rebuild_args(&only_credentials, &|_| None).unwrap_or_default();
    let quoted: Vec<String> = args
        .iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:/=@".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect();
    quoted.join(" ")
}

pub fn absolute(path: &Path) -> Result<String, ConfigCmdError> {
    std::path::absolute(path)
        .map(|p| p.display().to_string())
        .map_err(|e| ConfigCmdError::Exe(format!("{}: {e}", path.display())))
}

/// The path this program was started by, made absolute: through `PATH` when it was started
/// by name, so that a package manager's stable link (not a versioned target) is used.
pub fn binary_path() -> Result<String, ConfigCmdError> {
    let arg0 = std::env::args_os().next().map(PathBuf::from);
    if let Some(arg0) = arg0 {
        if arg0.components().count() > 1 {
            return absolute(&arg0);
        }
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| {
                    dir.join(&arg0)
                        .with_extension(std::env::consts::EXE_EXTENSION)
                })
                .find(|p| p.is_file())
        });
        if let Some(p) = found {
            return absolute(&p);
        }
    }
    let exe = std::env::current_exe().map_err(|e| ConfigCmdError::Exe(e.to_string()))?;
    Ok(exe.display().to_string())
}
