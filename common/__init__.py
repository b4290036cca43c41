"""Pieces shared by every genpod deployable: settings base, error codes, the worker protocol."""
