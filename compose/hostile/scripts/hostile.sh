# One line per attack, each with visible text around it; then quiet.
printf 'A\033cB\n'                                           # ESC c: reset the terminal, wiping the screen
printf 'C\033[2J\033[H\033[10;5HD\n'                         # erase the screen, move the cursor
printf '\033[?1049hE\033[?1049l\n'                           # switch to the alternate screen and back
printf '\033]0;pwned-title\007F\n'                           # OSC 0: set the window title (BEL)
printf '\033]2;pwned-title-2\033\\G\n'                       # OSC 2: set the title (ST)
printf '\033]52;c;cHduZWQ=\007H\n'                           # OSC 52: write "pwned" to the clipboard
printf '\033]8;;http://evil.example/\033\\I\033]8;;\033\\\n' # OSC 8: a hyperlink
echo '[bold red]J[/] [@click=app.quit]K[/] [link=http://evil.example/]L[/]'  # Textual/Rich markup
printf 'M\000N\n'                                            # NUL
printf 'O\377\376P\n'                                        # invalid UTF-8
printf 'Q\033[31mred\033[0m\n'                               # colour: harmless, but still not ours to draw
printf 'R\rS\bT\n'                                           # carriage return and backspace overwrite
echo END-OF-HOSTILE
exec sleep 86400
