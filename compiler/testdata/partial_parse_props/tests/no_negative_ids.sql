{{ none_below(ref('a'), 'id') }}
