use std::process::ExitCode;

use cartgate::cli::{self, Command};

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    // Commands that need no runtime.
    match &cli.command {
        Command::Openapi => {
            let spec = cartgate::api::openapi();
            match spec.to_pretty_json() {
                Ok(s) => {
                    println!("{s}");
                    return ExitCode::SUCCESS;
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        Command::Normalize {
            platform,
            kind,
            file,
        } => {
            return match cli::normalize(platform, kind, file.as_ref()) {
                Ok(out) => {
                    println!("{out}");
                    ExitCode::SUCCESS
                }
                Err(msg) => {
                    eprintln!("error: {msg}");
                    ExitCode::from(2)
                }
            };
        }
        _ => {}
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { settings } => {
                cli::init_tracing(&settings.log_format);
                cli::serve(settings).await
            }
            Command::Demo { json, settings } => {
                cli::init_tracing(&settings.log_format);
                cartgate::demo::run(settings, json).await
            }
            Command::Sandbox {
                platform,
                listen,
                seed,
                orders,
                products,
                customers,
                rate_limits,
                fault_rate,
            } => {
                cli::init_tracing("text");
                let opts = cartgate_connector::sandbox::SandboxOptions {
                    seed,
                    orders,
                    products,
                    customers,
                    rate_limits: rate_limits == "on",
                    fault_rate,
                };
                cli::sandbox(&platform, listen, opts).await
            }
            Command::Admin { settings, command } => {
                cli::init_tracing(&settings.log_format);
                cartgate::admin_cli::run(settings, command).await
            }
            Command::Normalize { .. } | Command::Openapi => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
