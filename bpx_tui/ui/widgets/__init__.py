"""One widget per module; the app composes them (see ``bpx_tui.ui.app``)."""
