//! The examples' command lines (`--name VALUE` options and bare flags) and the end of their
//! `main`.

use crate::Result;

/// Parses `--name VALUE` style options shared by the examples: returns the value after `flag`,
/// parsed, or `default` when the flag is absent.
pub fn arg<T: std::str::FromStr>(args: &[String], flag: &str, default: T) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    match args.iter().position(|a| a == flag) {
        None => Ok(default),
        Some(i) => {
            let v = args
                .get(i + 1)
                .ok_or_else(|| format!("{flag} needs a value"))?;
            v.parse().map_err(|e| format!("{flag} {v}: {e}").into())
        }
    }
}

/// The end of an example's `main`: its one-line summary on stdout and success, or
/// "`name` failed: …" on stderr and failure.
pub fn finish(name: &str, result: Result<impl std::fmt::Display>) -> std::process::ExitCode {
    match result {
        Ok(summary) => {
            println!("{summary}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name} failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Whether the bare flag `flag` was given.
pub fn flag(args: &[String], flag: &str) -> bool {
    args.iter().any(|a| a == flag)
}

/// Refuses arguments the example does not know: `valued` lists the flags that take a value,
/// `bare` those that do not. `usage` is printed with the error.
pub fn check_args(args: &[String], valued: &[&str], bare: &[&str], usage: &str) -> Result<()> {
    let mut i = 0;
    let mut seen: Vec<&str> = Vec::new();
    while i < args.len() {
        let a = args[i].as_str();
        if a == "-h" || a == "--help" {
            println!("{usage}");
            std::process::exit(0);
        }
        if seen.contains(&a) {
            return Err(format!("{a} given twice\n{usage}").into());
        }
        seen.push(a);
        if valued.contains(&a) {
            if i + 1 >= args.len() {
                return Err(format!("{a} needs a value\n{usage}").into());
            }
            i += 2;
        } else if bare.contains(&a) {
            i += 1;
        } else {
            return Err(format!("unknown argument {a:?}\n{usage}").into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_parse_or_default() {
        let a = args(&["--hosts", "3", "--keep"]);
        assert_eq!(arg(&a, "--hosts", 2u8).unwrap(), 3);
        assert_eq!(arg(&a, "--pods", 4u8).unwrap(), 4);
        assert!(flag(&a, "--keep"));
        assert!(!flag(&a, "--route-reflector"));
        let bad = args(&["--hosts", "many"]);
        let e = arg(&bad, "--hosts", 2u8).unwrap_err().to_string();
        assert!(e.starts_with("--hosts many: "), "{e}");
        let e = arg(&args(&["--hosts"]), "--hosts", 2u8).unwrap_err();
        assert_eq!(e.to_string(), "--hosts needs a value");
    }

    #[test]
    fn unknown_repeated_or_incomplete_arguments_are_refused() {
        let check = |a: &[&str]| check_args(&args(a), &["--prefix"], &["--keep"], "usage");
        check(&["--prefix", "p", "--keep"]).unwrap();
        check(&[]).unwrap();
        let e = check(&["--prefx", "p"]).unwrap_err().to_string();
        assert!(e.starts_with("unknown argument \"--prefx\"\n"), "{e}");
        let e = check(&["--keep", "--keep"]).unwrap_err().to_string();
        assert!(e.starts_with("--keep given twice\n"), "{e}");
        let e = check(&["--prefix"]).unwrap_err().to_string();
        assert!(e.starts_with("--prefix needs a value\n"), "{e}");
    }
}
