"""Where approved instances run. `base` is the `DeployTarget` interface the bot calls (find, create,
status, close) and its errors; `spheron` implements it on the Spheron Compute API. A new target is
one module here plus one line where the bot is assembled (`services.bot.assembly`).

May import `services.common` and `services.spec`."""
