# ~/.bashrc
export LS_OPTIONS='--color=auto'
alias ls='ls $LS_OPTIONS'
