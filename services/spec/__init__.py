"""The instance spec a proposal carries (`model`: the strict model, canonical JSON, hash, secret
references) and the operator's policy on what may be deployed (`policy`).

May import `services.common` only."""
