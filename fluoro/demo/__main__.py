from fluoro.demo.run import main

raise SystemExit(main())
