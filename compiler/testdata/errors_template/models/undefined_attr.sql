select '{{ target.nme }}'
