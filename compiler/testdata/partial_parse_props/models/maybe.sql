-- Names a macro no file defines: a file that gains it changes this model
-- without this model having called it.
select 1 as x{% if zz_patched_new is defined %}, 2 as y{% endif %}
