//! `--name value` flags: the few the commands take need no parser crate.

/// The value after `flag`, if given.
pub fn value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// The value after `flag` parsed, or `default`.
pub fn number<T: std::str::FromStr>(args: &[String], flag: &str, default: T) -> Result<T, String> {
    match value(args, flag) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|_| format!("{flag}: not a number: {raw}")),
    }
}

/// Every argument is a known flag followed by its value (or a known switch).
pub fn check(args: &[String], flags: &[&str], switches: &[&str]) -> Result<(), String> {
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if switches.contains(&arg.as_str()) {
            continue;
        }
        if !flags.contains(&arg.as_str()) {
            return Err(format!(
                "unknown argument {arg} (expected one of {})",
                flags.join(", ")
            ));
        }
        if rest.next().is_none() {
            return Err(format!("{arg} needs a value"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn reads_flags() {
        let a = args("--room dev --name bob");
        assert_eq!(value(&a, "--room"), Some("dev"));
        assert_eq!(value(&a, "--url"), None);
        assert!(check(&a, &["--room", "--name"], &[]).is_ok());
        assert!(check(&args("--room"), &["--room"], &[]).is_err());
        assert!(check(&args("--nope x"), &["--room"], &[]).is_err());
        assert_eq!(number(&args("--n 5"), "--n", 1u32), Ok(5));
        assert!(number(&args("--n x"), "--n", 1u32).is_err());
    }
}
