"""Running cvewatch unattended: the scheduled job (sync, then scan) and the lock that keeps runs apart."""
