select y from {{ ref('b') }}
