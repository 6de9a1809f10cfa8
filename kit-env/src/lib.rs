//! kit-env: secret stores (S3, local directory). Filled in by the kit-env issue.
