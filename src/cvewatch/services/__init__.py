"""Application services: one function per use case (sync a source, load a tree, an image or an SBOM,
scan, triage, publish, list verdicts, history) over the settings and the store. The CLI and the HTTP service
call these and only parse and print."""
