from leadwell.cli import main

if __name__ == "__main__":  # a cleaning child process imports this module too
    main()
