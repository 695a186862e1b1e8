from ticket_stages.cli import main

raise SystemExit(main())
