UPDATE students SET mobile = NULL WHERE mobile = phone;
