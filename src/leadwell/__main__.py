from leadwell.cli import main

main()
