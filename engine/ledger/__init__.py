"""The grants ledger: grants recorded per person in the service's database, read back as the history a
policy's rules count (the policy's `ledger:` section says how; engine.policies.ledgerspec reads it).

`book.py` the tables' reads and writes and the one transaction per person that serialises grants;
`granting.py` a claim decided with the ledger's history, and recorded when still eligible; `transfer.py`
export and import of an office's records (CSV, JSON Lines). See docs/ledger.md.
"""
