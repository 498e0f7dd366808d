#!/usr/bin/perl
# Usage: bytes.pl esc STRING...   |   bytes.pl badline FILE   |   bytes.pl urlencode STRING   |   bytes.pl utf8 STRING
# Summary: byte-exact helpers of the legacy side: esc() (security.md §1), the first line holding a NUL or
# invalid UTF-8 (security.md §9), percent-encoding for redaction. perl-base is Essential on Debian/Proxmox.
use strict;
use warnings;

my $VALID_MB = qr/[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}/;
my %NAMED = ("\n" => '\\n', "\t" => '\\t', "\r" => '\\r', "\\" => '\\\\');

sub esc {
    my ($s) = @_;
    my $out = '';
    pos($s) = 0;
    while (pos($s) < length($s)) {
        if ($s =~ /\G([\x00-\x7f])/gc) {
            my $c = $1;
            if (exists $NAMED{$c}) { $out .= $NAMED{$c}; }
            elsif (ord($c) < 0x20 || ord($c) == 0x7f) { $out .= sprintf('\\x%02x', ord($c)); }
            else { $out .= $c; }
        } elsif ($s =~ /\G($VALID_MB)/gc) {
            my $seq = $1;
            if ($seq =~ /^\xc2([\x80-\x9f])$/) { $out .= sprintf('\\u%04x', ord($1)); }
            elsif ($seq eq "\xe2\x80\xa8") { $out .= '\\u2028'; }
            elsif ($seq eq "\xe2\x80\xa9") { $out .= '\\u2029'; }
            else { $out .= $seq; }
        } else {
            $s =~ /\G(.)/gcs;
            $out .= sprintf('\\x%02x', ord($1));
        }
    }
    return $out;
}

sub badline {
    my ($file) = @_;
    open(my $fh, '<:raw', $file) or exit 2;
    local $/ = "\n";
    while (my $line = <$fh>) {
        chomp $line;
        if ($line =~ /\x00/ || $line !~ /^(?:[\x00-\x7f]|$VALID_MB)*$/) { print "$.\n"; return; }
    }
}

sub valid_utf8 {
    my ($s) = @_;
    return $s =~ /^(?:[\x00-\x7f]|$VALID_MB)*$/;
}

sub urlencode {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-_.!~*'()])/sprintf('%%%02X', ord($1))/ge;
    return $s;
}

# Run as a script it dispatches; `require`d it only defines the functions.
unless (caller) {
    my $mode = shift @ARGV // '';
    if ($mode eq 'esc') { print join("\n", map { esc($_) } @ARGV); }
    elsif ($mode eq 'badline') { badline($ARGV[0]); }
    elsif ($mode eq 'urlencode') { print urlencode($ARGV[0] // ''); }
    elsif ($mode eq 'utf8') { exit(valid_utf8($ARGV[0] // '') ? 0 : 1); }
    else { print STDERR "usage: bytes.pl esc|badline|urlencode|utf8 ARG\n"; exit 2; }
}
1;
