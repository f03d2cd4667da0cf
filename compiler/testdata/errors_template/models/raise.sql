{% if true %}
  {{ exceptions.raise_compiler_error("invalid setup: pick a region") }}
{% endif %}
