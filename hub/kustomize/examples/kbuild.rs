//! `kbuild DIR [--flux] [--namespace NS]`: prints what the engine renders for DIR, for
//! differential testing against `kubectl kustomize DIR`.

use flotilla_kustomize::{build, to_yaml, BuildOptions, DiskFs};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut opts = BuildOptions::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--flux" => opts.flux_autodetect = true,
            "--namespace" => opts.namespace = args.next(),
            _ => dir = Some(a),
        }
    }
    let dir = dir.unwrap_or_else(|| ".".into());
    // Rooted at `/` like `flotilla kustomize build`, so `../base` resolves as in kubectl.
    let abs = match std::fs::canonicalize(&dir) {
        Ok(p) => p.to_string_lossy().trim_start_matches('/').to_string(),
        Err(e) => {
            eprintln!("error: {dir}: {e}");
            std::process::exit(1);
        }
    };
    match build(&DiskFs::new("/"), &abs, &opts) {
        Ok(res) => print!("{}", to_yaml(&res)),
        Err(e) => {
            eprintln!("error: {}", e.with_root("/"));
            std::process::exit(1);
        }
    }
}
