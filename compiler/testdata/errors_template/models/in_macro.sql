select

  {{ outer_macro('a') }}
