//! `cartgate admin …`: through a running gateway's /admin API when one answers at
//! CARTGATE_LISTEN (the embedded store is single-process), else directly on the storage.

use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

use crate::admin::{self, KeyInfo, NewAccount, NewKey, RotatedMasterKey};
use crate::api::admin::KeyList;
use crate::cli::{AccountCommand, AdminCommand, KeyCommand};
use crate::config::Settings;
use crate::state::{load_master_key, load_secrets, open_storage};

enum Target {
    Http {
        base: String,
        token: String,
        client: reqwest::Client,
    },
    Direct,
}

async fn target(settings: &Settings) -> anyhow::Result<Target> {
    let base = format!("http://{}", settings.listen);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let alive = client
        .get(format!("{base}/healthz"))
        .timeout(Duration::from_secs(1))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success());
    if !alive {
        return Ok(Target::Direct);
    }
    let Some(token) = settings.admin_token.clone() else {
        bail!(
            "a gateway is running at {base} and holds the storage; set CARTGATE_ADMIN_TOKEN \
             (as the gateway has it) so admin commands can use its /admin API"
        );
    };
    Ok(Target::Http {
        base,
        token,
        client,
    })
}

async fn call(
    t: &Target,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let Target::Http {
        base,
        token,
        client,
    } = t
    else {
        unreachable!("only called for HTTP targets")
    };
    let mut req = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req
        .send()
        .await
        .context("calling the gateway's /admin API")?;
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!(
            "the gateway answered {status}: {}",
            v.get("detail")
                .and_then(Value::as_str)
                .unwrap_or("no detail")
        );
    }
    Ok(v)
}

pub async fn run(settings: Settings, cmd: AdminCommand) -> anyhow::Result<()> {
    let t = target(&settings).await?;
    if let Target::Http { .. } = t {
        return run_http(&t, cmd).await;
    }
    let storage = open_storage(&settings)?;
    let (master, source) = load_master_key(&settings)?;
    let signers = load_secrets(storage.as_ref(), &master).await?;
    let s = storage.as_ref();
    match cmd {
        AdminCommand::Account {
            command: AccountCommand::Create { name, json },
        } => print_account(&admin::create_account(s, &signers, &name).await?, json),
        AdminCommand::Key {
            command: KeyCommand::Create { account, json },
        } => print_key(&admin::create_key(s, &signers, &account).await?, json),
        AdminCommand::Key {
            command: KeyCommand::List { account, json },
        } => print_keys(&admin::all_keys(s, &account).await?, json),
        AdminCommand::Key {
            command: KeyCommand::Revoke { key_id },
        } => {
            let k = admin::revoke_key(s, &key_id).await?;
            println!("revoked {}", k.id);
            Ok(())
        }
        AdminCommand::RotateMasterKey { reseal_only } => {
            let (_, out) = admin::rotate_master_key(s, &master, &source, !reseal_only).await?;
            print_rotation(&out);
            Ok(())
        }
    }
}

async fn run_http(t: &Target, cmd: AdminCommand) -> anyhow::Result<()> {
    use reqwest::Method;
    match cmd {
        AdminCommand::Account {
            command: AccountCommand::Create { name, json },
        } => {
            let v = call(
                t,
                Method::POST,
                "/admin/accounts",
                Some(serde_json::json!({ "name": name })),
            )
            .await?;
            print_account(&serde_json::from_value(v)?, json)
        }
        AdminCommand::Key {
            command: KeyCommand::Create { account, json },
        } => {
            let v = call(
                t,
                Method::POST,
                &format!("/admin/accounts/{account}/keys"),
                None,
            )
            .await?;
            print_key(&serde_json::from_value(v)?, json)
        }
        AdminCommand::Key {
            command: KeyCommand::List { account, json },
        } => {
            let v = call(
                t,
                Method::GET,
                &format!("/admin/accounts/{account}/keys"),
                None,
            )
            .await?;
            let list: KeyList = serde_json::from_value(v)?;
            print_keys(&list.data, json)
        }
        AdminCommand::Key {
            command: KeyCommand::Revoke { key_id },
        } => {
            call(
                t,
                Method::POST,
                &format!("/admin/keys/{key_id}/revoke"),
                None,
            )
            .await?;
            println!("revoked {key_id}");
            Ok(())
        }
        AdminCommand::RotateMasterKey { reseal_only } => {
            let path = format!("/admin/rotate-master-key?reseal_only={reseal_only}");
            let v = call(t, Method::POST, &path, None).await?;
            print_rotation(&serde_json::from_value(v)?);
            Ok(())
        }
    }
}

fn print_account(a: &NewAccount, json: bool) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::json!({ "account_id": a.account_id, "api_key": a.api_key })
        );
    } else {
        println!(
            "account_id: {}\napi_key:    {}\n(the key is shown once; store it now)",
            a.account_id, a.api_key
        );
    }
    Ok(())
}

fn print_key(k: &NewKey, json: bool) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::json!({ "key_id": k.key_id, "account_id": k.account_id, "api_key": k.api_key })
        );
    } else {
        println!(
            "key_id:  {}\napi_key: {}\n(the key is shown once; store it now)",
            k.key_id, k.api_key
        );
    }
    Ok(())
}

fn print_keys(keys: &[KeyInfo], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(keys)?);
    } else {
        for k in keys {
            let state = match k.revoked_at {
                Some(t) => format!("revoked {}", t.to_rfc3339()),
                None => "active".into(),
            };
            println!(
                "{}  {}…  created {}  {}",
                k.id,
                k.prefix,
                k.created_at.to_rfc3339(),
                state
            );
        }
    }
    Ok(())
}

fn print_rotation(r: &RotatedMasterKey) {
    println!(
        "everything is sealed with master key {} ({} sealed values re-sealed)",
        r.key_id, r.resealed
    );
    match (&r.master_key, r.stored_in.as_str()) {
        (Some(k), _) => println!(
            "The old key came from CARTGATE_MASTER_KEY. Set this before the next restart:\nCARTGATE_MASTER_KEY={k}"
        ),
        (None, "file") => println!(
            "The data dir's master.key holds that key; older keys are no longer needed."
        ),
        (None, _) => println!(
            "CARTGATE_MASTER_KEY holds that key; CARTGATE_PREVIOUS_MASTER_KEYS is no longer needed."
        ),
    }
}
