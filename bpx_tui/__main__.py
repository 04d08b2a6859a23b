from bpx_tui.cli import main

raise SystemExit(main())
