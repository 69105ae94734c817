"""The ledger desk (台账填报): a department downloads its month's ledger, uploads it filled, previews, confirms."""
