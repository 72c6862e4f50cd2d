from siprems.cli import main

raise SystemExit(main())
