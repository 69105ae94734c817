"""``funnel serve``: the bureau's web application (board, project pages, ledger desk, bulletins, accounts).

``app.create_app(settings)`` builds it: one package per feature (``<feature>/views.py`` exposes
``router``), every feature route behind a signed-in session (``accounts.service.current_user``) and
the CSRF check (``security.verify_csrf``); ``settings.ServeSettings`` holds what the CLI decides.
"""
