//! `kit render`: a project's manifests for a target, checked, on stdout (or
//! as files). The work is kit-project's pipeline; this is flags, progress,
//! `-v` and exit codes.

use kit_project::{OutputError, RenderOptions};

use crate::diagnostics::Failure;
use crate::flags::RenderArgs;
use crate::run::{Job, render, render_to_dir};
use crate::signals;

pub fn run(args: &RenderArgs) -> Result<Vec<u8>, Failure> {
    let mut options = RenderOptions::default().with_debug(args.debug.debug);
    if let Some(f) = args.redact.fingerprinter()? {
        options = options.with_redaction(f);
    }
    let job = Job {
        project: &args.project,
        select: &args.select,
        values: &args.values,
        source: &args.source,
        verbose: args.verbose.verbose,
        options,
    };
    if let Some(dir) = &args.output.output_dir {
        // A signal stops the writers, which remove what they wrote; kit
        // then ends by the signal.
        let written = render_to_dir(job, dir)?;
        match &written {
            Ok(n) => eprintln!("kit: wrote {n} files under {}", dir.display()),
            Err(OutputError::Interrupted) => {
                eprintln!("kit: nothing written under {}", dir.display())
            }
            Err(_) => {}
        }
        signals::end_if_caught();
        written?;
        return Ok(Vec::new());
    }
    let (_, rendered) = render(job)?;
    // Every check has passed: the streams go out one after another (not
    // gathered into one more copy of the output).
    let streams = rendered.streams()?;
    crate::output::out_all(streams.iter().map(|s| s.text.as_bytes()))?;
    Ok(Vec::new())
}
