#!/usr/bin/perl
# Usage: json-fields.pl FIELD... < JSON_ARRAY
# Summary: one tab-separated line per array element with the named fields ("" for missing/null), for
# the legacy side's few JSON reads (datastore lists). JSON::PP ships with perl.
use strict;
use warnings;
use JSON::PP;

local $/;
my $text = <STDIN> // '';
my $data = eval { JSON::PP->new->decode($text) };
exit 1 unless ref($data) eq 'ARRAY';
for my $item (@$data) {
    next unless ref($item) eq 'HASH';
    print join("\t", map { my $v = $item->{$_}; defined($v) && !ref($v) ? do { (my $s = $v) =~ s/[\t\n\r]/ /g; $s } : '' } @ARGV), "\n";
}
